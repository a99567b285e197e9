// `rtcgw dev` (= `npm start`): the emulated functions, one media node and the registry (memory by
// default) in one process, plus the demo page and the recordings at "/". The functions share the
// process's registry and the node's control secret through injected dependencies.
import { loadConfigOrExit } from "../config/index.js";
import { chainExtras, DEV_TOKEN_PATH, devTokenEndpoint } from "../emulator/dev-token.js";
import { devStatic } from "../emulator/static.js";
import { createLogger, setRootLogger } from "../log/index.js";
import { openRegistry } from "../registry/index.js";
import { orPortHint } from "./listen-error.js";
import { startLocalGateway } from "./local-gateway.js";
import { exitOnPreflight } from "./preflight-error.js";
import { onShutdown } from "./shutdown.js";

export interface DevOptions {
  host: string;
}

export async function runDev(opts: DevOptions): Promise<void> {
  const loaded = loadConfigOrExit();
  const logger = createLogger({ level: loaded.LOG_LEVEL });
  setRootLogger(logger);
  // the example parrot agents (examples/), on loopback, for the demo page's "agent" choices: the
  // node may dial them (added to RTCGW_BRIDGE_ALLOW for this dev server only)
  const parrots = process.env.RTCGW_DEMO_AGENT === "0" ? undefined : await startParrots();
  const config = parrots
    ? { ...loaded, RTCGW_BRIDGE_ALLOW: [...loaded.RTCGW_BRIDGE_ALLOW, parrots.rtcgw, parrots.twilio] }
    : loaded;
  const gateway = await startLocalGateway({
    config,
    logger,
    registry: await openRegistry(config.RTCGW_REGISTRY, { logger }),
    // the control API is internal here: a free port unless NODE_PORT was asked for explicitly
    controlPort: process.env.NODE_PORT ? config.NODE_PORT : 0,
    udpPort: config.MEDIA_UDP_PORT,
    port: config.PORT,
    host: opts.host,
    extra: chainExtras(
      devTokenEndpoint(config, parrots ? { rtcgw: parrots.rtcgw, twilio: parrots.twilio } : {}),
      devStatic(config.RECORDINGS_DIR, parrots ? { rtcgw: parrots.rtcgw, twilio: parrots.twilio } : {}),
    ),
    bind: orPortHint,
  }).catch((e) => exitOnPreflight(e, logger)); // RECORDINGS_DIR or the WASM: say which, no stack
  const { registry, node, emulator } = gateway;
  const shown = opts.host === "0.0.0.0" ? `http://localhost:${emulator.port}` : emulator.url;
  process.stdout.write(
    `\nrtcgw dev is running\n` +
      `  demo page   ${shown}/\n` +
      `  WHIP        POST ${shown}/v1/whip\n` +
      `  sessions    POST ${shown}/v1/sessions\n` +
      `  health      GET  ${shown}/v1/health\n` +
      `  metrics     GET  ${node.controlUrl}/metrics\n` +
      `${parrots ? `  agents      ${parrots.rtcgw} (rtcgw) · ${parrots.twilio} (twilio): the example parrots\n` : ""}` +
      `  registry    ${registry.kind} · recordings in ${config.RECORDINGS_DIR}\n` +
      `${authLine(config)}` +
      `Press Ctrl-C to stop.\n\n`,
  );
  onShutdown(logger, async () => {
    await gateway.close({ drainMs: 2_000 });
    parrots?.close();
  });
}

/** the two example agents on free loopback ports */
async function startParrots() {
  const [{ startParrotRtcgw }, { startParrotTwilio }] = await Promise.all([
    import("../../examples/parrot-rtcgw.mjs"),
    import("../../examples/parrot-twilio.mjs"),
  ]);
  const a = await startParrotRtcgw();
  const b = await startParrotTwilio();
  return {
    rtcgw: a.url,
    twilio: b.url,
    close: () => {
      a.wss.close();
      b.wss.close();
    },
  };
}

function authLine(c: {
  RTCGW_API_TOKEN?: string | undefined;
  RTCGW_TOKEN_SECRET?: string | undefined;
}): string {
  if (c.RTCGW_TOKEN_SECRET)
    return (
      `  auth        Bearer: a client token (rtcgw token; the demo page gets one from POST ${DEV_TOKEN_PATH})` +
      `${c.RTCGW_API_TOKEN ? " or RTCGW_API_TOKEN" : ""}\n`
    );
  if (c.RTCGW_API_TOKEN) return "  auth        Bearer RTCGW_API_TOKEN required to create sessions\n";
  return "  auth        open (set RTCGW_TOKEN_SECRET to try client tokens)\n";
}
