// The `rtcgw` command line (commander). Every command reads its settings from the environment
// (the README's "Configuration"); a bad value stops it with a message naming what to fix (exit 2).
import { Command } from "commander";

const ENV_HELP = `
Environment:
  PORT                    HTTP port of the emulated API (8080)
  NODE_PORT               media node control API and /metrics (9090; worker i: +i; 0 = any free)
  RTCGW_REGISTRY          memory | redis://host:port | dynamodb:TABLE (memory)
  RTCGW_NODE_SECRET       control API HMAC secret, shared by signaling and nodes
  RTCGW_NODE_SECRET_ARN   or: the Secrets Manager secret holding it (read at start)
  NODE_BIND_ADDRESS       address the control API binds (127.0.0.1; a VPC node: its private IP)
  RTCGW_RECORDINGS_BUCKET S3 bucket the recordings go to when a session ends (unset = disk only)
  RTCGW_API_TOKEN         Bearer token required to create sessions (optional)
  RTCGW_ICE_SERVERS       comma-separated stun: URLs announced in Link headers
  RTCGW_TURN_URLS         turn:/turns: URLs announced with a short-lived credential on each 201
  RTCGW_TURN_SECRET       the TURN server's shared secret (coturn static-auth-secret)
  RTCGW_TURN_TTL          seconds a TURN credential stays valid (3600)
  RTCGW_NODE_TURN_URLS    a node's own TURN server, announced in its registry record and handed
                          out (with a credential) to the sessions it takes
  RTCGW_API_TOKEN_ARN, RTCGW_TOKEN_SECRET_ARN, RTCGW_TURN_SECRET_ARN
                          or: the Secrets Manager secrets holding those (read at start)
  RTCGW_TOKEN_SECRET      signs/verifies client tokens (rtcgw token), at least 32 characters
  MEDIA_UDP_PORT          the node's one muxed UDP port (0 = any free port)
  MEDIA_BIND_ADDRESS      address the media socket binds (127.0.0.1)
  MEDIA_ANNOUNCED_ADDRESS public IPv4 written into ICE candidates
  RECORDINGS_DIR          where the record profile writes (./recordings)
  RTCGW_RECORDINGS_MIN_FREE_MB
                          MiB that must be free there for a node to take recordings (256; 0 = no floor)
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
    .command("agent")
    .description(
      "beside `rtcgw node` in an Auto Scaling group: per-instance metrics to CloudWatch, drain on the termination lifecycle hook",
    )
    .action(async () => (await import("./agent.js")).runAgentCommand());

  program
    .command("signaling")
    .description("the emulated signaling functions alone, against a shared registry (redis or dynamodb)")
    .option("--host <address>", "address the HTTP server listens on", "127.0.0.1")
    .action(async (o: { host: string }) => (await import("./signaling.js")).runSignaling({ host: o.host }));

  program
    .command("token")
    .description("mint a short-lived, single-use client token for one call (signed with RTCGW_TOKEN_SECRET)")
    .option("--profile <name...>", "profiles the call may use: echo, record, bridge (default: echo)")
    .option("--record", "the call may record (same as --profile record)")
    .option(
      "--rate <hz>",
      "the recording's WAV rate, pinned in the token: 8000, 16000, 24000 or 48000 (needs --record)",
    )
    .option("--bridge <url>", "the application's ws(s):// URL the bridge profile dials (fixed in the token)")
    .option("--bridge-param <key=value...>", "query parameters added to the bridge URL")
    .option(
      "--start-param <name=value...>",
      "bridge_param_<name> parameters the agent gets in its start message, pinned in the token",
    )
    .option("--bridge-protocol <name>", "the protocol the agent speaks, rtcgw or twilio, pinned in the token")
    .option("--ttl <seconds>", "lifetime in seconds (default 300, at most 900)")
    .option("--json", "print {token, expiresAt, claims} instead of the token alone")
    .action(async (o: import("./token.js").TokenOptions) => (await import("./token.js")).runToken(o));

  return program;
}
