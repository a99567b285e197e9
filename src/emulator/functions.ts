// The function handlers the emulator serves: the very modules that are bundled for the cloud.
import { handler as health } from "../../functions/health/index.js";
import { handler as options } from "../../functions/options/index.js";
import { handler as sessions } from "../../functions/sessions/index.js";
import { handler as whep } from "../../functions/whep/index.js";
import { handler as whip } from "../../functions/whip/index.js";
import type { LambdaHandler } from "../signaling/dispatch.js";
import type { HandlerName } from "../signaling/routes.js";

export const FUNCTION_HANDLERS: Record<HandlerName, LambdaHandler> = {
  whip,
  sessions,
  whep,
  health,
  options,
};
