// A port that cannot be bound is a configuration problem: say which variable to change (exit 2).
export function portProblem(
  variable: string,
  port: number,
  code: string | undefined,
  why = "",
): string | undefined {
  if (code !== "EADDRINUSE" && code !== "EACCES") return undefined;
  const what = code === "EADDRINUSE" ? "is already in use" : "needs privileges";
  return `rtcgw: invalid configuration:\n  - ${variable}: port ${port}${why} ${what}; set ${variable} to a free port\n`;
}

export async function orPortHint<T>(variable: string, port: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (e) {
    const message = portProblem(variable, port, (e as NodeJS.ErrnoException)?.code);
    if (message) {
      process.stderr.write(message);
      process.exit(2);
    }
    throw e;
  }
}
