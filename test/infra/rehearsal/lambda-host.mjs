// The Lambda runtime's part in the rehearsal: one process per function, whose environment is the
// template's plus what Lambda itself provides; it imports the bundle (its init runs once, as in a
// function instance) and serves invocations: POST / with the event, answer = the handler's result.
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";

const { handler } = await import(pathToFileURL(process.argv[2]).href);
// One connection per invocation (API Gateway's invokes share no connection with the caller). Under
// load an invocation failed "other side closed" with this host running and silent: the first POST
// after `rtcgw token` had blocked the test's loop for seconds, on a kept-alive connection idle
// about as long as this server's 5 s keep-alive timeout — a reuse racing the server's close.
const HEADERS = { "content-type": "application/json", connection: "close" };
const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    try {
      const event = JSON.parse(Buffer.concat(chunks).toString());
      const result = await handler(event, {
        functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
        awsRequestId: "rehearsal",
      });
      res.writeHead(200, HEADERS).end(JSON.stringify(result));
    } catch (e) {
      // an uncaught error: API Gateway answers 500 Internal Server Error
      process.stderr.write(`lambda-host: ${e?.stack ?? e}\n`);
      res.writeHead(200, HEADERS).end(JSON.stringify({ statusCode: 500, body: "Internal Server Error" }));
    }
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`${server.address().port}\n`));
process.on("SIGTERM", () => process.exit(0));
