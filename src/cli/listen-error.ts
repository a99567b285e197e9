// A port that cannot be bound is a configuration problem: say which variable to change (exit 2).
export async function orPortHint<T>(variable: string, port: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    if (code === "EADDRINUSE" || code === "EACCES") {
      process.stderr.write(
        `rtcgw: invalid configuration:\n  - ${variable}: port ${port} ${code === "EADDRINUSE" ? "is already in use" : "needs privileges"}; set ${variable} to a free port\n`,
      );
      process.exit(2);
    }
    throw e;
  }
}
