// The `rtcgw` command line (commander). Every command reads its settings from the environment
// (the README's "Configuration"); a bad value stops it with a message naming what to fix (exit 2).
import { Command } from "commander";

const ENV_HELP = `
Environment:
  PORT                    HTTP port of the emulated API (8080)
  NODE_PORT               media node control API and /metrics (9090; worker i: +i; 0 = any free)
  RTCGW_REGISTRY          memory | redis://host:port | dynamodb:TABLE (memory)
  RTCGW_NODE_SECRET       control API HMAC secret, shared by signaling and nodes
  RTCGW_API_TOKEN         Bearer token required to create sessions (optional)
  RTCGW_ICE_SERVERS       comma-separated stun:/turn: URLs announced in Link headers
  MEDIA_UDP_PORT          the node's one muxed UDP port (0 = any free port)
  MEDIA_BIND_ADDRESS      address the media socket binds (127.0.0.1)
  MEDIA_ANNOUNCED_ADDRESS public IPv4 written into ICE candidates
  RECORDINGS_DIR          where the record profile writes (./recordings)
  LOG_LEVEL               fatal|error|warn|info|debug|trace|silent (info)
`;

export function buildProgram(): Command {
  const program = new Command("rtcgw")
    .description(
      "A serverless-friendly WebRTC audio gateway: WHIP/WHEP signaling, media nodes, clean PCM out.",
    )
    .addHelpText("after", ENV_HELP)
    .showHelpAfterError();

  program
    .command("dev")
    .description("emulated functions + one media node + memory registry + the demo page, in one process")
    .option("--host <address>", "address the HTTP server listens on", "127.0.0.1")
    // commands load their modules on use: --help stays instant (no media stack loaded)
    .action(async (o: { host: string }) => (await import("./dev.js")).runDev({ host: o.host }));

  program
    .command("node")
    .description("a media node (one worker per core) registering in the shared registry")
    .action(async () => (await import("./node.js")).runNode());

  program
    .command("signaling")
    .description("the emulated signaling functions alone, against a shared registry (redis or dynamodb)")
    .option("--host <address>", "address the HTTP server listens on", "127.0.0.1")
    .action(async (o: { host: string }) => (await import("./signaling.js")).runSignaling({ host: o.host }));

  return program;
}
