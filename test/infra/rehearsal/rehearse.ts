// The deploy rehearsal: synthesise the stack with the real function bundles, take from the template
// exactly what it gives the media instance (the launch template's user data, which fetches
// bootstrap.sh and runs it with its parameters) and the functions (their environment, their
// routes, their roles), and run them here against stand-ins on loopback: dynalite (DynamoDB),
// s3rver (S3), a local IMDSv2 and one AWS API stand-in that enforces each principal's policies
// from the template (aws-api.ts). Then: the node must signal healthy, register every worker in the
// table, take one real call per worker (node-datachannel caller, offers through the bundled
// handlers), each call's recording must land in the bucket (and leave the node's disk), and the
// termination lifecycle hook must drain the node and be completed.
//
// A "security group" stand-in: the caller may use only the answer's candidates whose UDP port the
// template opens to 0.0.0.0/0, and each worker's control port must be open to the functions'
// security group — so a closed worker port fails the call placed on that worker.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { buildFunctions } from "../../../scripts/build-functions.js";
import { buildEvent } from "../../../src/emulator/event.js";
import { HANDLER_NAMES } from "../../../src/signaling/routes.js";
import { ClientPeer, toneRatio } from "../../support/client-peer.js";
import { startDynalite } from "../../support/dynalite.js";
import { checkPortHeld } from "../../support/port-holders.js";
import { type CfnTemplate, ROOT, resourcesOf, synth } from "../synth.js";
import {
  bootstrapArgs,
  functionLogicalId,
  functionRole,
  policiesOfRole,
  resolvedUserData,
  resolveValue,
  type Token,
} from "../template.js";
import { type Call, startAwsApi } from "./aws-api.js";
import type { Statement } from "./iam.js";
import { startImds } from "./imds.js";
import { allocateOverTls } from "./turn-allocate.js";

const REGION = "eu-west-3";
const ACCOUNT = "123456789012";
const STACK = "rtcgw-rehearsal";
const NODE_KEY = "ASIAREHEARSALNODEROLE";
const INSTANCE_ID = "i-0rehearsal0000001";
const fnKey = (h: string) => `ASIAREHEARSALFN${h.toUpperCase()}`;

export interface RehearsalOptions {
  /** more of the operator's settings for `npm run synth` (RTCGW_NODE_TURN_RUNTIME, …) */
  synthEnv?: Record<string, string>;
  /** change the synthesised template before it is used (to demonstrate a defect) */
  mutateTemplate?: (t: CfnTemplate) => void;
  /** change the bootstrap script the template ships (to demonstrate a defect) */
  mutateBootstrap?: (script: string) => string;
  /** seconds the bootstrap waits for the workers (its RTCGW_BOOTSTRAP_HEALTH_TIMEOUT) */
  healthTimeoutS?: number;
  /** the stack's default TURN: no TLS certificate, no turns: URL */
  noTls?: boolean;
  /** what the operator puts into the TLS certificate secret (default: the certificate, then the key) */
  tlsSecret?: (cert: string, key: string) => string;
  /** commands left off the instance's PATH (as if their package were not installed) */
  pathWithout?: string[];
  /** the bootstrap's real install branch: `dnf` (stand-in), the pinned Node.js downloaded from a
   *  mirror of nodejs.org/dist on loopback (this machine's Node.js, repacked as a release with its
   *  SHASUMS256.txt) and checked, `npm ci --omit=dev` from the npm registry (network) */
  realInstall?: boolean;
  /** (with realInstall) the mirror's tarball is not the one its SHASUMS256.txt names */
  tamperNodeRelease?: boolean;
  log?: (line: string) => void;
}

export interface RehearsalReport {
  signal: string[];
  workers: { nodeId: string; controlUrl: string }[];
  calls: {
    sessionId: string;
    nodeId: string;
    udpPort: number;
    objects: { bucket: string; wav: string; ogg: string };
  }[];
  recordings: { key: string; bytes: number; seconds?: number; toneRatio?: number }[];
  envFile: { mode: number; vars: Record<string, string> };
  lambdaEnv: Record<string, Record<string, string>>;
  awsCalls: Call[];
  /** the status of an offer without a token, with the API token, with a client token */
  auth: { withoutToken: number; withApiToken: number; withClientToken: number };
  /** every rel="ice-server" Link of every 201, and whether its credential is the TURN secret's HMAC */
  links: { sessionId: string; url: string; username: string; credentialValid: boolean }[];
  /** a relay-only client with a handed-out credential, against the coturn the bootstrap started */
  relayChecks: { url: string; relayCandidates: number }[];
  /** a TURN Allocate over TLS on the handed-out turns: URL, certificate verified */
  tlsChecks: { url: string; relayed: string; protocol: string }[];
  /** the TLS port (privileged when the rehearsal runs as root: coturn's capability is needed) */
  turnTlsPort: number;
  /** the user coturn runs as (the systemctl stand-in applies User= only when run as root) */
  turnUser?: string;
  /** CompleteLifecycleAction calls on the launch hook (the bootstrap's) */
  launchActions: string[];
  /** the CloudWatch agent configuration the bootstrap handed the agent (stand-in checked it) */
  cloudWatchAgentConfig?: string;
  turnPort: number;
  /** coturn's config as the bootstrap wrote it */
  turnConf?: { mode: number; hasSecret: boolean };
  /** where the bootstrap said coturn came from (its log line): the AMI, the repositories, the image */
  turnFrom?: "binary" | "dnf" | "container";
  /** the rtcgw-turn unit the bootstrap wrote */
  turnUnit?: string;
  /** what the user data and the bootstrap printed */
  bootstrapLog: string;
  /** what the node ran on: the unpacked release's node binary (its process's /proc/PID/exe), and
   *  node_modules installed in the artifact's directory (not a link) */
  install: { nodeFromRelease: boolean; nodeModulesInstalled: boolean };
  lifecycleCompleted: boolean;
  nodesAfterDrain: number;
}

export class RehearsalError extends Error {
  override name = "RehearsalError";
  constructor(
    message: string,
    readonly awsCalls: Call[] = [],
  ) {
    const denied = awsCalls.filter((c) => !c.allowed);
    super(
      denied.length
        ? `${message}\n  denied by the template's policies:\n${[...new Set(denied.map((c) => `    ${c.principal}: ${c.action} on ${c.resource}`))].join("\n")}`
        : message,
    );
  }
}

/**
 * Ports for the instance, chosen minutes before the bootstrap's processes bind them (coturn's
 * TURN and TLS ports, the workers' media and control ports). So:
 * - below the kernel's ephemeral range (ip_local_port_range): in that window this machine's
 *   other tests make thousands of connections and UDP sockets on kernel-picked ports, and any of
 *   them could take a port chosen there (the ranges used to be 20000–40000, a third of it
 *   ephemeral here);
 * - reserved for this rehearsal until it ends (a file per port under the system's tmp, with the
 *   holder's pid): a rehearsal run by another test process at the same time cannot choose them;
 * - free for TCP and UDP, on the wildcard, when chosen — and checked held by coturn, alone,
 *   once it runs (checkTurnPorts below): coturn binds with SO_REUSEPORT, so a coturn on a port
 *   another holds starts without a word.
 */
class PortReservations {
  private readonly held: string[] = [];
  private readonly dir = path.join(tmpdir(), "rtcgw-rehearsal-ports");

  /** n consecutive ports, free and reserved */
  async range(n: number): Promise<number> {
    const [low] = ephemeralRange();
    const from = 10_000;
    for (let tries = 0; tries < 200; tries++) {
      const base = from + Math.floor(Math.random() * (low - from - n));
      if (!this.reserve(base, n)) continue;
      let ok = true;
      for (let p = base; p < base + n && ok; p++) ok = (await tcpFree(p)) && (await udpFree(p));
      if (ok) return base;
      this.release(base, n);
    }
    throw new Error(`no ${n} free consecutive ports in ${from}..${low - 1}`);
  }

  /** a free TCP port below 1024 (binding it needs root or CAP_NET_BIND_SERVICE), reserved */
  async privileged(): Promise<number> {
    for (let tries = 0; tries < 50; tries++) {
      const p = 600 + Math.floor(Math.random() * 400);
      if (!this.reserve(p, 1)) continue;
      if (await tcpFree(p)) return p;
      this.release(p, 1);
    }
    throw new Error("no free port below 1024");
  }

  releaseAll(): void {
    for (const f of this.held.splice(0)) rmSync(f, { force: true });
  }

  private reserve(base: number, n: number): boolean {
    if (!existsSync(this.dir)) {
      // shared by whoever rehearses on this machine (sticky, like /tmp; the umask would narrow mkdir's mode)
      mkdirSync(this.dir, { recursive: true });
      try {
        chmodSync(this.dir, 0o1777);
      } catch {} // made by another user's rehearsal just now: theirs to set
    }
    const mine: string[] = [];
    for (let p = base; p < base + n; p++) {
      const f = path.join(this.dir, String(p));
      if (!this.claim(f)) {
        for (const m of mine) rmSync(m, { force: true });
        return false;
      }
      mine.push(f);
    }
    this.held.push(...mine);
    return true;
  }

  /** create the file exclusively; one left by a process that is gone is taken over */
  private claim(f: string): boolean {
    for (let i = 0; i < 2; i++) {
      try {
        writeFileSync(f, String(process.pid), { flag: "wx" });
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        const pid = Number(readIf(f).trim());
        if (pid > 0 && pidAlive(pid)) return false;
        rmSync(f, { force: true });
      }
    }
    return false;
  }

  private release(base: number, n: number): void {
    for (let p = base; p < base + n; p++) {
      const f = path.join(this.dir, String(p));
      const i = this.held.indexOf(f);
      if (i >= 0) this.held.splice(i, 1);
      rmSync(f, { force: true });
    }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** the kernel's ephemeral port range [low, high] (what bind(0) and connect() pick from) */
function ephemeralRange(): [number, number] {
  const [low, high] = readIf("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/).map(Number);
  return low && high ? [low, high] : [32768, 60999];
}

/** coturn (the rtcgw-turn unit's process) holds its TURN port (TCP and UDP) and its TLS port, and
 *  nothing else holds them: the reason it does not, or undefined */
function turnPortsProblem(root: string, ports: { port: number; udp: boolean }[]): string | undefined {
  const pid = Number(readIf(path.join(root, "run/systemd-standin/rtcgw-turn.service.pid")).trim());
  if (!pid) return "the rtcgw-turn unit has no process";
  for (const { port, udp } of ports) {
    const c = checkPortHeld(port, pid, { udp });
    if (c.strangers.length > 0)
      return `port ${port} is not coturn's alone (pid ${pid}): also held by ${c.strangers.join("; ")}`;
    if (!c.held)
      return `coturn (pid ${pid}) does not hold port ${port}${udp ? " (TCP and UDP)" : ""}${c.others.length ? `; on it: ${c.others.join("; ")}` : ""}`;
  }
  return undefined;
}

const tcpFree = (port: number) =>
  new Promise<boolean>((r) => {
    const s = createServer();
    s.once("error", () => r(false));
    s.listen(port, "0.0.0.0", () => s.close(() => r(true)));
  });
const udpFree = (port: number) =>
  new Promise<boolean>((r) => {
    const s = createSocket("udp4");
    s.once("error", () => r(false));
    s.bind(port, "0.0.0.0", () => s.close(() => r(true)));
  });

/** this machine's Node.js as a nodejs.org/dist release (node-vX-linux-ARCH.tar.xz: bin/node, bin/npm,
 *  lib/node_modules/npm; and SHASUMS256.txt), served over HTTP on loopback */
async function startNodeMirror(
  dir: string,
  tamper: boolean,
): Promise<{ url: string; version: string; close(): Promise<void> }> {
  const version = process.version.slice(1);
  const arch = process.arch === "arm64" ? "arm64" : "x64";
  const name = `node-v${version}-linux-${arch}`;
  const prefix = path.dirname(path.dirname(realpathSync(process.execPath)));
  const release = path.join(dir, `v${version}`);
  mkdirSync(release, { recursive: true });
  const tarball = path.join(release, `${name}.tar.xz`);
  execFileSync(
    "bash",
    [
      "-c",
      'tar -C "$1" -cf - --transform "s,^,$2/," bin/node bin/npm lib/node_modules/npm | xz -0 -T2 >"$3"',
      "_",
      prefix,
      name,
      tarball,
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  const sum = createHash("sha256").update(readFileSync(tarball)).digest("hex");
  // a tampered release: one byte of the tarball changed after its checksum was published
  if (tamper) {
    const b = readFileSync(tarball);
    b[b.length >> 1] ^= 0xff;
    writeFileSync(tarball, b);
  }
  writeFileSync(path.join(release, "SHASUMS256.txt"), `${sum}  ${name}.tar.xz\n`);
  const server = createHttpServer((req, res) => {
    const f = path.join(dir, path.normalize(decodeURIComponent(req.url ?? "/")).replace(/^(\.\.[/\\])+/, ""));
    if (!f.startsWith(dir) || !existsSync(f)) return void res.writeHead(404).end();
    res.writeHead(200);
    res.end(readFileSync(f));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    version,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** PATH with `names` left out: a directory of links to every other command of each PATH entry */
function pathWithout(p: string, names: string[], dir: string): string {
  if (names.length === 0) return p;
  mkdirSync(dir, { recursive: true });
  const linked = new Set<string>();
  for (const d of p.split(":")) {
    let entries: string[] = [];
    try {
      entries = readdirSync(d);
    } catch {}
    for (const e of entries) {
      if (names.includes(e) || linked.has(e)) continue;
      linked.add(e);
      symlinkSync(path.join(d, e), path.join(dir, e));
    }
  }
  return dir;
}

/** the user name a process runs as (its real uid, /proc) */
function processUser(pid: number): string | undefined {
  const uid = /^Uid:\s+(\d+)/m.exec(readIf(`/proc/${pid}/status`))?.[1];
  if (uid === undefined) return undefined;
  return execFileSync("id", ["-nu", uid], { encoding: "utf8" }).trim();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function rehearse(o: RehearsalOptions = {}): Promise<RehearsalReport> {
  const log = o.log ?? (() => {});
  const cleanup: (() => Promise<void> | void)[] = [];
  const work = mkdtempSync(path.join(tmpdir(), "rtcgw-rehearsal-"));
  let awsCalls: Call[] = [];
  const fail = (m: string): never => {
    throw new RehearsalError(m, awsCalls);
  };
  try {
    // ---- synthesise with the real bundles and ports free here
    const functionsDir = path.join(work, "functions");
    await buildFunctions({ outDir: functionsDir });
    const ports = new PortReservations();
    cleanup.push(() => ports.releaseAll());
    const base = await ports.range(4);
    const ctlBase = await ports.range(4);
    const turnPort = await ports.range(1);
    // TURN over TLS with the operator's certificate (a Secrets Manager secret holding the PEM
    // chain and key): self-signed here, for the name clients dial ({ip} = the IMDS public IP);
    // on a privileged port when run as root, so coturn (not root) needs its capability to bind it
    const tlsPort = process.getuid?.() === 0 ? await ports.privileged() : await ports.range(1);
    const tlsDir = path.join(work, "tls");
    mkdirSync(tlsDir, { mode: 0o700 });
    // biome-ignore format: argv
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", path.join(tlsDir, "key.pem"), "-out", path.join(tlsDir, "cert.pem"), "-days", "1",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
    ], { stdio: "ignore" });
    const tlsCert = readFileSync(path.join(tlsDir, "cert.pem"), "utf8");
    const tlsKey = readFileSync(path.join(tlsDir, "key.pem"), "utf8");
    const tlsPem = o.tlsSecret ? o.tlsSecret(tlsCert, tlsKey) : `${tlsCert}${tlsKey}`;
    const tlsSecretArn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:rtcgw-turn-tls-AbCdEf`;
    const nodeMirror = o.realInstall
      ? await startNodeMirror(path.join(work, "node-dist"), o.tamperNodeRelease ?? false)
      : undefined;
    if (nodeMirror) cleanup.push(() => nodeMirror.close());
    const s = synth(
      {
        ...(nodeMirror
          ? { RTCGW_NODE_VERSION: nodeMirror.version, RTCGW_NODE_DIST_URL: nodeMirror.url }
          : {}),
        MEDIA_UDP_PORT: String(base),
        NODE_PORT: String(ctlBase),
        RTCGW_NODE_TURN_PORT: String(turnPort),
        ...(o.noTls
          ? {}
          : {
              RTCGW_NODE_TURN_TLS_CERT_ARN: tlsSecretArn,
              RTCGW_NODE_TURN_TLS_HOST: "{ip}",
              RTCGW_NODE_TURN_TLS_PORT: String(tlsPort),
            }),
        ...o.synthEnv,
      },
      { functionsDir, stackName: STACK },
    );
    const t = s.json;
    o.mutateTemplate?.(t);
    log(`synthesised ${STACK}: UDP ${base}+, control ${ctlBase}+, TURN ${turnPort}`);

    // ---- names of this world, for the template's tokens
    const tableId = resourcesOf(t, "AWS::DynamoDB::Table")[0]![0];
    const bucketId = resourcesOf(t, "AWS::S3::Bucket")[0]![0];
    const asgId = resourcesOf(t, "AWS::AutoScaling::AutoScalingGroup")[0]![0];
    const secretIds = resourcesOf(t, "AWS::SecretsManager::Secret").map(([id]) => id);
    const tableName = "rtcgw-rehearsal-registry";
    const bucketName = "rtcgw-rehearsal-recordings";
    const secretArn = (id: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}-AbCdEf`;
    const refs: Record<string, string> = {
      "AWS::Region": REGION,
      "AWS::AccountId": ACCOUNT,
      "AWS::Partition": "aws",
      "AWS::URLSuffix": "amazonaws.com",
      "AWS::StackName": STACK,
      [tableId]: tableName,
      [bucketId]: bucketName,
      ...Object.fromEntries(secretIds.map((id) => [id, secretArn(id)])),
    };
    const arns: Record<string, string> = {
      [tableId]: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${tableName}`,
      [bucketId]: `arn:aws:s3:::${bucketName}`,
    };
    const resolve = (tok: Token): string => {
      if ("Ref" in tok) return refs[tok.Ref as string] ?? String(tok.Ref);
      if ("Fn::GetAtt" in tok) {
        const [id, attr] = tok["Fn::GetAtt"] as [string, string];
        if (attr === "Arn") return arns[id] ?? `arn:aws:rehearsal:::${id}`;
        return `${id}.${attr}`;
      }
      return resolveValue(tok, resolve);
    };
    const statements = (roleId: string): Statement[] =>
      policiesOfRole(t, roleId).statements.map((st) => ({
        actions: st.actions,
        resources: st.resources.map((r) => resolveValue(r, resolve)),
        ...(st.condition ? { condition: st.condition as Statement["condition"] } : {}),
      }));

    // ---- stand-ins
    const dynalite = await startDynalite({ inMemory: true });
    cleanup.push(() => dynalite.dispose());
    const S3rver = createRequire(import.meta.url)("s3rver") as new (
      o: object,
    ) => {
      run(): Promise<{ port: number }>;
      close(): Promise<void>;
    };
    const assetBucket = `cdk-hnb659fds-assets-${ACCOUNT}-${REGION}`;
    const s3 = new S3rver({
      port: 0,
      address: "127.0.0.1",
      silent: true,
      directory: path.join(work, "s3"),
      configureBuckets: [{ name: assetBucket }, { name: bucketName }],
    });
    const s3Port = (await s3.run()).port;
    cleanup.push(() => s3.close());
    const s3Url = `http://127.0.0.1:${s3Port}`;

    const nodeRoleId = resourcesOf(t, "AWS::IAM::Role").find(([id]) => id.startsWith("MediaNodesRole"))![0];
    const secrets: Record<string, string> = {
      ...Object.fromEntries(secretIds.map((id) => [secretArn(id), randomBytes(24).toString("hex")])),
      [tlsSecretArn]: tlsPem,
    };
    const groupName = bootstrapArgs(t)["--asg-name"] as string;
    // the values behind the secrets the template creates, as your backend reads them
    // (`aws secretsmanager get-secret-value --secret-id <stack output>`)
    const secretValue = (prefix: string) => {
      const id = secretIds.find((i) => i.startsWith(prefix));
      if (!id) return fail(`the template creates no ${prefix} secret`);
      return secrets[secretArn(id)]!;
    };
    const api = await startAwsApi({
      principals: {
        [NODE_KEY]: "media-node",
        ...Object.fromEntries(HANDLER_NAMES.map((h) => [fnKey(h), `fn-${h}`])),
      },
      policies: {
        "media-node": statements(nodeRoleId),
        ...Object.fromEntries(HANDLER_NAMES.map((h) => [`fn-${h}`, statements(functionRole(t, h).roleId)])),
      },
      dynamodb: dynalite.endpoint,
      s3: s3Url,
      secrets,
      account: ACCOUNT,
      groupArn: (name) =>
        `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:0000-rehearsal:autoScalingGroupName/${name}`,
    });
    awsCalls = api.calls;
    cleanup.push(() => api.close());
    const imds = await startImds({
      privateIp: "127.0.0.1",
      publicIp: "127.0.0.1",
      instanceId: INSTANCE_ID,
      role: nodeRoleId,
      accessKeyId: NODE_KEY,
    });
    cleanup.push(() => imds.close());
    const endpoints = {
      AWS_ENDPOINT_URL_DYNAMODB: api.endpoint,
      AWS_ENDPOINT_URL_S3: api.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: api.endpoint,
      AWS_ENDPOINT_URL_CLOUDWATCH: api.endpoint,
      AWS_ENDPOINT_URL_AUTO_SCALING: api.endpoint,
    };

    // ---- the registry table, as the template declares it
    const table = t.Resources[tableId]!.Properties;
    await dynamoCall(dynalite.endpoint, "CreateTable", {
      TableName: tableName,
      KeySchema: table.KeySchema,
      AttributeDefinitions: table.AttributeDefinitions,
      BillingMode: "PAY_PER_REQUEST",
      ...(table.GlobalSecondaryIndexes ? { GlobalSecondaryIndexes: table.GlobalSecondaryIndexes } : {}),
    });

    // ---- the assets, where the template says they are (the bootstrap, the artifact)
    const manifest = JSON.parse(readFileSync(path.join(s.outdir, `${STACK}.assets.json`), "utf8")) as {
      files: Record<
        string,
        { source: { path: string }; destinations: Record<string, { objectKey: string }> }
      >;
    };
    for (const f of Object.values(manifest.files)) {
      const file = path.join(s.outdir, f.source.path);
      if (!existsSync(file) || !/\.(sh|gz)$/.test(file)) continue; // function zips are not fetched by S3 here
      let body = readFileSync(file);
      if (file.endsWith(".sh") && o.mutateBootstrap) body = Buffer.from(o.mutateBootstrap(body.toString()));
      const key = Object.values(f.destinations)[0]!.objectKey;
      const r = await fetch(`${s3Url}/${assetBucket}/${key}`, { method: "PUT", body });
      if (!r.ok) fail(`could not stage asset ${key}: ${r.status}`);
    }

    // ---- the instance boots: the user data, exactly as the template writes it
    const root = path.join(work, "instance");
    mkdirSync(root);
    // the instance's / and the way to it are world-traversable, as on the instance: coturn runs
    // as its own user and must reach its files (each keeps its own mode, 0600 for the secrets)
    chmodSync(work, 0o755);
    chmodSync(root, 0o755);
    const shims = path.join(ROOT, "test/infra/rehearsal/shims");
    for (const f of readdirSync(shims)) chmodSync(path.join(shims, f), 0o755);
    const signalFile = path.join(work, "cfn-signal");
    const cwaFile = path.join(work, "cloudwatch-agent-config");
    const userData = resolvedUserData(t, resolve);
    writeFileSync(path.join(work, "user-data.sh"), userData);
    // EC2 runs user data as root with no AWS_REGION and no credentials but the instance role's
    const bootEnv: NodeJS.ProcessEnv = {
      PATH: pathWithout(
        `${shims}:${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin:${process.env.PATH}`,
        o.pathWithout ?? [],
        path.join(work, "path"),
      ),
      HOME: process.env.HOME ?? "/root",
      RTCGW_BOOTSTRAP_ROOT: root,
      ...(o.realInstall
        ? { RTCGW_BOOTSTRAP_INSTALL: "real" }
        : { RTCGW_BOOTSTRAP_NODE_MODULES: path.join(ROOT, "node_modules") }),
      RTCGW_BOOTSTRAP_HEALTH_TIMEOUT: String(o.healthTimeoutS ?? 60),
      RTCGW_REHEARSAL_SIGNAL_FILE: signalFile,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
      RTCGW_REHEARSAL_REPO: ROOT,
      RTCGW_REHEARSAL_CWA_FILE: cwaFile,
      ...endpoints,
    };
    cleanup.push(() => {
      try {
        // the rehearsal is over: a short grace, then the units' process groups are killed
        execFileSync(
          path.join(shims, "systemctl"),
          ["stop", "rtcgw-agent.service", "rtcgw-node.service", "rtcgw-turn.service"],
          {
            env: { ...bootEnv, RTCGW_STANDIN_STOP_TIMEOUT: "5" },
            timeout: 60_000,
          },
        );
      } catch {}
    });
    log("running the user data");
    const boot = await run("bash", [path.join(work, "user-data.sh")], bootEnv, 300_000);
    writeFileSync(path.join(work, "bootstrap.log"), boot.output);
    const signal = existsSync(signalFile) ? readFileSync(signalFile, "utf8").trim().split("\n") : [];
    const nodeLog = () => readIf(path.join(root, "var/log/rtcgw/node.log")).slice(-3000);
    // coturn's ports, as the kernel sees them, and its log: what a failure involving TURN quotes
    const turnPorts = [{ port: turnPort, udp: true }, ...(o.noTls ? [] : [{ port: tlsPort, udp: false }])];
    const turnState = () =>
      existsSync(path.join(root, "etc/systemd/system/rtcgw-turn.service"))
        ? `\n--- TURN ports: ${turnPortsProblem(root, turnPorts) ?? "coturn holds them, alone"}\n--- turn log\n${readIf(path.join(root, "var/log/rtcgw/turn.log")).slice(-2000)}`
        : "";
    const flag = (f: string) => signal[signal.indexOf(f) + 1];
    if (boot.code !== 0 || flag("--exit-code") !== "0")
      fail(
        `the node did not come up: bootstrap exit ${boot.code}, cfn-signal ${signal.join(" ") || "never sent"}, launch action ${
          api.calls
            .filter((c) => c.action === "autoscaling:CompleteLifecycleAction")
            .map((c) => c.params?.LifecycleActionResult)
            .join(",") || "never completed"
        }\n--- bootstrap\n${boot.output.slice(-2000)}\n--- node log\n${nodeLog()}${turnState()}`,
      );
    if (flag("--resource") !== asgId || flag("--stack") !== STACK || flag("--region") !== REGION)
      fail(`the bootstrap signalled ${signal.join(" ")}, not the group ${asgId} of ${STACK} in ${REGION}`);
    log(`signalled: ${signal.join(" ")}`);

    const envPath = path.join(root, "etc/rtcgw.env");
    const envFile = {
      mode: Number.parseInt(execFileSync("stat", ["-c", "%a", envPath], { encoding: "utf8" }).trim(), 8),
      vars: Object.fromEntries(
        readFileSync(envPath, "utf8")
          .trim()
          .split("\n")
          .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
      ),
    };

    const turnConfPath = path.join(root, "etc/rtcgw-turn/turnserver.conf");
    // the user coturn's process runs as (from /proc: what the stand-in really started)
    const turnPidFile = path.join(root, "run/systemd-standin/rtcgw-turn.service.pid");
    const turnUser = existsSync(turnPidFile) ? processUser(Number(readIf(turnPidFile).trim())) : undefined;
    const nodePid = Number(readIf(path.join(root, "run/systemd-standin/rtcgw-node.service.pid")).trim());
    const nodeExe = (() => {
      try {
        return readlinkSync(`/proc/${nodePid}/exe`);
      } catch {
        return "";
      }
    })();
    const releaseNode = path.join(root, `opt/rtcgw/node-v${bootstrapArgs(t)["--node-version"]}/bin/node`);
    const modules = path.join(root, "opt/rtcgw/current/node_modules");
    const install = {
      nodeFromRelease: nodeExe === releaseNode && !lstatSync(releaseNode).isSymbolicLink(),
      nodeModulesInstalled:
        existsSync(modules) &&
        !lstatSync(modules).isSymbolicLink() &&
        existsSync(path.join(modules, "node-datachannel/package.json")),
    };
    const launchActions = api.calls
      .filter(
        (c) =>
          c.action === "autoscaling:CompleteLifecycleAction" &&
          c.allowed &&
          c.params?.LifecycleHookName === bootstrapArgs(t)["--launch-hook"] &&
          c.params?.InstanceId === INSTANCE_ID &&
          c.params?.AutoScalingGroupName === groupName,
      )
      .map((c) => c.params!.LifecycleActionResult!);
    if (!launchActions.includes("CONTINUE"))
      fail(
        `the bootstrap did not complete the launch lifecycle action: ${launchActions.join(",") || "no call"}`,
      );
    const FROM: Record<string, RehearsalReport["turnFrom"]> = {
      "the AMI": "binary",
      "the repositories": "dnf",
      "its official container image": "container",
    };
    const turnFrom =
      FROM[
        /TURN: coturn from (the AMI|the repositories|its official container image)/.exec(boot.output)?.[1] ??
          ""
      ];
    const turnUnit = readIf(path.join(root, "etc/systemd/system/rtcgw-turn.service")) || undefined;
    const turnConf = existsSync(turnConfPath)
      ? {
          mode: Number.parseInt(
            execFileSync("stat", ["-c", "%a", turnConfPath], { encoding: "utf8" }).trim(),
            8,
          ),
          hasSecret: readFileSync(turnConfPath, "utf8").includes(
            `static-auth-secret=${secretValue("TurnSecret")}\n`,
          ),
        }
      : undefined;

    // ---- coturn holds its ports, alone: the bootstrap's check (a TCP connect) is answered by
    // whatever listens there, and coturn on a port another process holds may share it
    // (SO_REUSEPORT) or retry its bind forever — either way it is not the TURN server clients get
    if (existsSync(path.join(root, "etc/systemd/system/rtcgw-turn.service"))) {
      let problem = turnPortsProblem(root, turnPorts);
      for (let i = 0; i < 50 && problem && !problem.includes("not coturn's alone"); i++) {
        await sleep(100);
        problem = turnPortsProblem(root, turnPorts);
      }
      if (problem) fail(`coturn is not the TURN server on its ports: ${problem}${turnState()}`);
    }

    // ---- every worker registered; each control port open to the functions only
    const workers = Number(bootstrapArgs(t)["--workers"]);
    let nodes: { nodeId: string; controlUrl: string }[] = [];
    for (let i = 0; i < 50 && nodes.length < workers; i++) {
      nodes = await listNodes(dynalite.endpoint, tableName);
      if (nodes.length < workers) await sleep(200);
    }
    if (nodes.length !== workers) fail(`${nodes.length} of ${workers} workers registered`);
    const sgId = resourcesOf(t, "AWS::EC2::SecurityGroup").find(([id]) => id.startsWith("MediaNodesSg"))![0];
    const fnSgId = resourcesOf(t, "AWS::EC2::SecurityGroup").find(([id]) => id.startsWith("FunctionsSg"))![0];
    const rules = ingressRules(t, sgId);
    for (const n of nodes) {
      const port = Number(new URL(n.controlUrl).port);
      if (!rules.some((r) => r.protocol === "tcp" && r.from <= port && port <= r.to && r.sourceSg === fnSgId))
        fail(`worker ${n.nodeId}'s control port ${port} is not open to the functions' security group`);
      if (rules.some((r) => r.protocol === "tcp" && r.from <= port && port <= r.to && r.cidr))
        fail(`worker ${n.nodeId}'s control port ${port} is open to a CIDR, not only to the functions`);
    }
    const udpOpen = (port: number) =>
      rules.some((r) => r.protocol === "udp" && r.cidr === "0.0.0.0/0" && r.from <= port && port <= r.to);

    // ---- the functions, each in its own process with the template's environment
    const lambdaEnv: Record<string, Record<string, string>> = {};
    const hosts: Record<string, number> = {};
    // what each function's host printed and how it ended: a failed invocation quotes it
    const hostState: Record<string, { stderr: string; exit?: string }> = {};
    for (const h of HANDLER_NAMES) {
      const fn = t.Resources[functionLogicalId(t, h)]!;
      const vars = Object.fromEntries(
        Object.entries((fn.Properties.Environment?.Variables ?? {}) as Record<string, unknown>).map(
          ([k, v]) => [k, resolveValue(v, resolve)],
        ),
      );
      lambdaEnv[h] = vars;
      const env = {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        ...vars,
        // what the Lambda service adds to every function's environment
        AWS_REGION: REGION,
        AWS_DEFAULT_REGION: REGION,
        AWS_LAMBDA_FUNCTION_NAME: `${STACK}-${h}`,
        AWS_ACCESS_KEY_ID: fnKey(h),
        AWS_SECRET_ACCESS_KEY: "rehearsal",
        AWS_SESSION_TOKEN: "rehearsal",
        ...endpoints,
      };
      const child = spawn(
        process.execPath,
        [path.join(ROOT, "test/infra/rehearsal/lambda-host.mjs"), path.join(functionsDir, h, "index.mjs")],
        {
          env,
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      cleanup.push(() => void child.kill("SIGTERM"));
      const st: { stderr: string; exit?: string } = { stderr: "" };
      hostState[h] = st;
      child.stderr!.on("data", (d) => {
        st.stderr = (st.stderr + d).slice(-3000);
      });
      child.once("exit", (code, sig) => {
        st.exit = `exited ${code ?? sig}`;
      });
      hosts[h] = await firstLine(child);
    }
    const routes = apiRoutes(t);
    const invoke = async (method: string, url: string, headers: Record<string, string>, body = "") => {
      const p = url.split("?")[0]!;
      const match = routes.find((r) => r.method === method && r.pattern.test(p));
      if (!match) fail(`no API route for ${method} ${p}`);
      const params = match!.pattern.exec(p)!.groups ?? {};
      const event = buildEvent(
        {
          method,
          url,
          rawHeaders: Object.entries(headers).flat(),
          body: Buffer.from(body),
          sourceIp: "127.0.0.1",
          httpVersion: "1.1",
        },
        { routeKey: `${method} ${match!.path}`, pathParameters: params },
      );
      const r = await fetch(`http://127.0.0.1:${hosts[match!.handler]}/`, {
        method: "POST",
        body: JSON.stringify(event),
      }).catch((e: Error & { cause?: unknown }) =>
        fail(
          `${method} ${url}: the ${match!.handler} function's host did not answer: ${e.message} ${String(e.cause ?? "")} (host ${hostState[match!.handler]?.exit ?? "still running"})\n--- its stderr\n${hostState[match!.handler]?.stderr ?? ""}`,
        ),
      );
      return (await r.json()) as { statusCode: number; headers?: Record<string, string>; body?: string };
    };

    // ---- the API is closed: no token → 401; the API token (from Secrets Manager) → 201 below;
    // a client token minted with the token secret (`rtcgw token`, as your backend does) → 201
    const apiToken = secretValue("ApiToken");
    const auth: RehearsalReport["auth"] = { withoutToken: 0, withApiToken: 0, withClientToken: 0 };
    {
      const c = await ClientPeer.create({ direction: "sendonly", dataChannel: false });
      const r = await invoke(
        "POST",
        "/v1/whip?profile=record",
        { "content-type": "application/sdp" },
        c.offer,
      );
      await c.close();
      auth.withoutToken = r.statusCode;
      if (r.statusCode !== 401)
        fail(`an offer without a token was answered ${r.statusCode}, not 401: ${r.body ?? ""}`);
    }
    const clientToken = execFileSync(
      process.execPath,
      [path.join(ROOT, "bin/rtcgw.mjs"), "token", "--profile", "record", "--ttl", "300"],
      { env: { PATH: process.env.PATH, RTCGW_TOKEN_SECRET: secretValue("TokenSecret") }, encoding: "utf8" },
    ).trim();
    const turnSecret = secretValue("TurnSecret");
    const links: RehearsalReport["links"] = [];
    const relayChecks: RehearsalReport["relayChecks"] = [];
    const tlsChecks: RehearsalReport["tlsChecks"] = [];

    // ---- one real call per worker, through the functions
    const calls: RehearsalReport["calls"] = [];
    const peers: ClientPeer[] = [];
    cleanup.push(() => Promise.all(peers.map((p) => p.close())).then(() => {}));
    const sessions: { id: string; token: string; peer: ClientPeer }[] = [];
    // the signaling picks at random among equally loaded workers (src/registry/pick.ts): calls are
    // placed until every worker has one (each call is checked, whichever worker takes it)
    const covered = () => new Set(calls.map((c) => c.nodeId)).size;
    for (let w = 0; covered() < workers && w < 6 * workers; w++) {
      const c = await ClientPeer.create({ direction: "sendonly", dataChannel: false });
      peers.push(c);
      // the first call with a client token, the others with the API token
      const bearer = w === 0 ? clientToken : apiToken;
      const r = await invoke(
        "POST",
        "/v1/whip?profile=record",
        { "content-type": "application/sdp", authorization: `Bearer ${bearer}` },
        c.offer,
      );
      if (r.statusCode !== 201) fail(`offer ${w + 1}: ${r.statusCode} ${r.body ?? ""}`);
      if (w === 0) auth.withClientToken = r.statusCode;
      else auth.withApiToken = r.statusCode;
      const hdr = Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      const id = (hdr.location ?? "").split("/").pop()!;
      // the node's own TURN server, with a credential minted from the TURN secret for this session
      const servers = iceServersOf(hdr.link);
      for (const sv of servers) {
        const expected = createHmac("sha1", turnSecret)
          .update(sv.params.username ?? "")
          .digest("base64");
        links.push({
          sessionId: id,
          url: sv.url,
          username: sv.params.username ?? "",
          credentialValid: sv.params.credential === expected,
        });
      }
      const token = hdr["rtcgw-session-token"] ?? "";
      const answer = r.body ?? "";
      const ports = [...answer.matchAll(/^a=candidate:\S+ \d+ udp \d+ \S+ (\d+) typ/gim)].map((m) =>
        Number(m[1]),
      );
      if (ports.length === 0) fail(`offer ${w + 1}: the answer carries no UDP candidate`);
      // the security group stand-in: candidates on a closed port are unreachable from the caller
      const reachable = answer
        .split("\r\n")
        .filter((l) => {
          const m = /^a=candidate:\S+ \d+ udp \d+ \S+ (\d+) typ/i.exec(l);
          return !m || udpOpen(Number(m[1]));
        })
        .join("\r\n");
      c.accept(reachable);
      try {
        await c.connected(10_000);
      } catch {
        fail(
          `call ${w + 1} (media port ${ports.join(",")}) did not connect: ${ports.every(udpOpen) ? "ICE failed" : "the port is closed in the security group"}`,
        );
      }
      c.startSending();
      const status = await invoke("GET", `/v1/sessions/${id}`, { authorization: `Bearer ${token}` });
      const st = JSON.parse(status.body ?? "{}") as {
        nodeId: string;
        objects?: { bucket: string; wav: string; ogg: string };
      };
      if (!st.objects) fail(`session ${id}'s status carries no object keys: ${status.body}`);
      calls.push({ sessionId: id, nodeId: st.nodeId, udpPort: ports[0]!, objects: st.objects! });
      // coturn, configured by the bootstrap from Secrets Manager, allocates a relay for the
      // handed-out credential (a relay-only client gathers a relay candidate only if it does)
      const udpTurn = servers.find((sv) => sv.url.endsWith("?transport=udp"));
      if (udpTurn && relayChecks.length === 0) relayChecks.push(await relayGathers(udpTurn));
      // TURN over TLS: the turns: URL handed out, the certificate verified, the same credential
      const tlsTurn = servers.find((sv) => sv.url.startsWith("turns:"));
      if (tlsTurn && tlsChecks.length === 0)
        tlsChecks.push({
          url: tlsTurn.url,
          ...(await allocateOverTls({
            url: tlsTurn.url,
            username: tlsTurn.params.username ?? "",
            credential: tlsTurn.params.credential ?? "",
            ca: tlsCert,
          }).catch((e: Error) =>
            fail(
              `TURN over TLS on ${tlsTurn.url}: ${e.message}\n--- turn log\n${readIf(path.join(root, "var/log/rtcgw/turn.log")).slice(-2000)}`,
            ),
          )),
        });
      sessions.push({ id, token, peer: c });
    }
    if (covered() !== workers)
      fail(
        `${calls.length} calls did not reach all ${workers} workers: ${calls.map((c) => c.nodeId).join(", ")}`,
      );
    await sleep(2500);
    for (const s2 of sessions) {
      s2.peer.stopSending();
      const d = await invoke("DELETE", `/v1/sessions/${s2.id}`, { authorization: `Bearer ${s2.token}` });
      if (d.statusCode !== 200) fail(`DELETE ${s2.id}: ${d.statusCode} ${d.body}`);
    }

    // ---- the recordings land in the bucket and leave the node's disk
    // s3rver streams an object straight to its final path and answers the PUT of a buffer as soon
    // as the write is started (s3rver/lib/stores/filesystem.js putObject), so a GET can read a
    // file it is still writing — CI once read a WAV object without its "RIFF" yet: each object is
    // read until two reads agree.
    const recordings: RehearsalReport["recordings"] = [];
    for (const c of calls) {
      for (const key of [c.objects.wav, c.objects.ogg]) {
        let r: Response | undefined;
        let bytes = Buffer.alloc(0);
        for (let i = 0; i < 60; i++) {
          r = await fetch(`${s3Url}/${c.objects.bucket}/${key}`);
          if (r.ok) {
            // s3rver's own write of the object may still be under way (see above): read it until
            // two reads agree (what the node uploaded is then checked below, as it is)
            const first = Buffer.from(await r.arrayBuffer());
            await sleep(100);
            const again = await fetch(`${s3Url}/${c.objects.bucket}/${key}`);
            bytes = Buffer.from(await again.arrayBuffer());
            if (again.ok && bytes.length > 0 && bytes.equals(first)) break;
          }
          await sleep(250);
        }
        if (!r?.ok) fail(`recording ${key} never reached the bucket\n--- node log\n${nodeLog()}`);
        const rec: RehearsalReport["recordings"][number] = { key, bytes: bytes.length };
        if (key.endsWith(".wav")) Object.assign(rec, wavFacts(bytes));
        recordings.push(rec);
      }
    }

    // the node deletes its copy once S3 has confirmed the upload: up to 10 s
    let left = readdirSync(path.join(root, "var/lib/rtcgw/recordings"));
    for (let i = 0; i < 40 && left.length > 0; i++) {
      await sleep(250);
      left = readdirSync(path.join(root, "var/lib/rtcgw/recordings"));
    }
    if (left.length > 0) fail(`recordings left on the node's disk after upload: ${left.join(", ")}`);

    // ---- scale-in / rolling update: the termination hook drains the node and is completed
    imds.lifecycleState = "Terminated";
    let completed = false;
    for (let i = 0; i < 120 && !completed; i++) {
      completed = api.calls.some(
        (c) =>
          c.action === "autoscaling:CompleteLifecycleAction" &&
          c.allowed &&
          c.params?.AutoScalingGroupName === groupName &&
          c.params?.LifecycleHookName === bootstrapArgs(t)["--lifecycle-hook"] &&
          c.params?.InstanceId === INSTANCE_ID &&
          c.params?.LifecycleActionResult === "CONTINUE",
      );
      if (!completed) await sleep(250);
    }
    const nodesAfterDrain = (await listNodes(dynalite.endpoint, tableName)).length;

    const denied = api.calls.filter((c) => !c.allowed);
    if (denied.length > 0) fail("a principal made a call its role does not allow");
    const wrongRegion = api.calls.filter((c) => c.region !== REGION);
    if (wrongRegion.length > 0)
      fail(
        `calls signed for another region: ${wrongRegion.map((c) => `${c.principal} ${c.action} ${c.region}`).join("; ")}`,
      );
    if (imds.tokenless > 0) fail(`${imds.tokenless} IMDS reads without a session token (IMDSv1)`);
    return {
      signal,
      workers: nodes,
      calls,
      recordings,
      envFile,
      lambdaEnv,
      awsCalls: [...api.calls],
      auth,
      links,
      relayChecks,
      turnPort,
      ...(turnConf ? { turnConf } : {}),
      tlsChecks,
      turnTlsPort: tlsPort,
      ...(turnUser ? { turnUser } : {}),
      ...(turnFrom ? { turnFrom } : {}),
      ...(turnUnit ? { turnUnit } : {}),
      bootstrapLog: boot.output,
      launchActions,
      install,
      ...(existsSync(cwaFile) ? { cloudWatchAgentConfig: readFileSync(cwaFile, "utf8").trim() } : {}),
      lifecycleCompleted: completed,
      nodesAfterDrain,
    };
  } finally {
    for (const c of cleanup.reverse()) {
      try {
        await c();
      } catch {}
    }
    // RTCGW_REHEARSAL_KEEP=1 keeps the instance's files and logs (a failure quotes their tails)
    if (!process.env.RTCGW_REHEARSAL_KEEP) rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- helpers

interface LinkIceServer {
  url: string;
  params: Record<string, string>;
}

/** RFC 8288 Link values with rel="ice-server": `<url>; name="value"; …`, comma-separated */
function iceServersOf(link: string | undefined): LinkIceServer[] {
  const out: LinkIceServer[] = [];
  for (const m of (link ?? "").matchAll(/<([^>]*)>((?:\s*;\s*[A-Za-z-]+="[^"]*")*)/g)) {
    const params: Record<string, string> = {};
    for (const p of m[2]!.matchAll(/([A-Za-z-]+)="([^"]*)"/g)) params[p[1]!.toLowerCase()] = p[2]!;
    if (params.rel === "ice-server") out.push({ url: m[1]!, params });
  }
  return out;
}

/** how many relay candidates a relay-only client gathers through this TURN server and credential */
async function relayGathers(s: LinkIceServer): Promise<{ url: string; relayCandidates: number }> {
  const m = /^turn:([^:?]+):(\d+)/.exec(s.url);
  if (!m) throw new RehearsalError(`not a turn: URL: ${s.url}`);
  const c = await ClientPeer.create({
    direction: "sendonly",
    dataChannel: false,
    offerCandidates: true,
    gatherTimeoutMs: 5000,
    rtc: {
      iceServers: [
        {
          hostname: m[1]!,
          port: Number(m[2]),
          username: s.params.username!,
          password: s.params.credential!,
          relayType: "TurnUdp",
        },
      ],
      iceTransportPolicy: "relay",
    },
  });
  try {
    return { url: s.url, relayCandidates: (c.offer.match(/^a=candidate:.* typ relay/gm) ?? []).length };
  } finally {
    await c.close();
  }
}

function readIf(f: string): string {
  try {
    return readFileSync(f, "utf8");
  } catch {
    return "";
  }
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number) {
  return new Promise<{ code: number; output: string }>((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output });
    });
  });
}

function firstLine(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr!.on("data", (d) => (err += d));
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(Number(out.trim().split("\n")[0]));
    });
    child.on("exit", (code) => reject(new Error(`function host exited ${code}: ${err}`)));
  });
}

async function dynamoCall(endpoint: string, op: string, input: unknown) {
  const r = await fetch(endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.0",
      "x-amz-target": `DynamoDB_20120810.${op}`,
      "x-amz-date": "20260101T000000Z",
      authorization:
        "AWS4-HMAC-SHA256 Credential=rehearsal/20260101/eu-west-3/dynamodb/aws4_request, SignedHeaders=host, Signature=00",
    },
    body: JSON.stringify(input),
  });
  if (!r.ok) throw new Error(`dynalite ${op}: ${r.status} ${await r.text()}`);
  return r.json() as Promise<{ Items?: Record<string, { S?: string; N?: string; BOOL?: boolean }>[] }>;
}

/** node records straight from the table (whatever the store's item layout, by its attributes) */
async function listNodes(endpoint: string, table: string) {
  const out = await dynamoCall(endpoint, "Scan", { TableName: table });
  const now = Date.now();
  return (out.Items ?? [])
    .filter((i) => i.controlUrl?.S)
    .filter((i) => !i.expiresAtMs?.N || Number(i.expiresAtMs.N) > now)
    .map((i) => ({
      nodeId: i.id?.S ?? i.nodeId?.S ?? "",
      controlUrl: i.controlUrl!.S!,
      load: Number(i.load?.N ?? 0),
    }));
}

interface Rule {
  protocol: string;
  from: number;
  to: number;
  cidr?: string;
  sourceSg?: string;
}

function ingressRules(t: CfnTemplate, sgId: string): Rule[] {
  const inline = (t.Resources[sgId]!.Properties.SecurityGroupIngress ?? []) as Record<string, unknown>[];
  const separate = resourcesOf(t, "AWS::EC2::SecurityGroupIngress")
    .map(([, r]) => r.Properties as Record<string, unknown>)
    .filter((p) => JSON.stringify(p.GroupId).includes(sgId));
  return [...inline, ...separate].map((p) => ({
    protocol: String(p.IpProtocol),
    from: Number(p.FromPort),
    to: Number(p.ToPort),
    ...(p.CidrIp ? { cidr: String(p.CidrIp) } : {}),
    ...(p.SourceSecurityGroupId
      ? { sourceSg: (p.SourceSecurityGroupId as { "Fn::GetAtt": [string] })["Fn::GetAtt"][0] }
      : {}),
  }));
}

/** the API's routes from the template: route key → integration → function → handler bundle */
function apiRoutes(t: CfnTemplate) {
  const fnToHandler = Object.fromEntries(HANDLER_NAMES.map((h) => [functionLogicalId(t, h), h]));
  return resourcesOf(t, "AWS::ApiGatewayV2::Route").map(([, r]) => {
    const [method, p] = String(r.Properties.RouteKey).split(" ") as [string, string];
    const integrationId = JSON.stringify(r.Properties.Target).match(/"Ref":"([^"]+)"/)![1]!;
    const uri = t.Resources[integrationId]!.Properties.IntegrationUri as { "Fn::GetAtt": [string, string] };
    const handler = fnToHandler[uri["Fn::GetAtt"][0]]!;
    const pattern = new RegExp(`^${p.replace(/\{(\w+)\}/g, "(?<$1>[^/]+)")}$`);
    return { method, path: p, pattern, handler };
  });
}

function wavFacts(b: Buffer): { seconds: number; toneRatio: number } {
  if (b.toString("ascii", 0, 4) !== "RIFF") throw new Error("the WAV object is not RIFF");
  let off = 12;
  let rate = 0;
  let channels = 1;
  while (off + 8 <= b.length) {
    const id = b.toString("ascii", off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === "fmt ") {
      channels = b.readUInt16LE(off + 10);
      rate = b.readUInt32LE(off + 12);
    }
    if (id === "data") {
      const n = Math.min(size, b.length - off - 8) >> 1;
      const samples = new Int16Array(n);
      for (let i = 0; i < n; i++) samples[i] = b.readInt16LE(off + 8 + 2 * i);
      const mono = channels === 1 ? samples : samples.filter((_, i) => i % channels === 0);
      const skip = Math.round(rate * 0.3);
      return {
        seconds: mono.length / rate,
        toneRatio: toneRatio(mono.subarray(skip, mono.length - skip), rate, 440),
      };
    }
    off += 8 + size + (size & 1);
  }
  throw new Error("the WAV object has no data chunk");
}
