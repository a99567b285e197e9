// The deploy rehearsal (rehearsal/rehearse.ts): the synthesised stack's user data, bootstrap,
// node env and function env, run here against dynalite, s3rver, a local IMDSv2 and an AWS API
// stand-in that enforces the template's policies. It passes only if the node comes up from the
// template alone, registers every worker, takes a real call on each through the bundled
// handlers, lands the recordings in the bucket and drains on the termination hook — and each
// defect of issue 16 makes it fail.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { type RehearsalReport, rehearse } from "./rehearsal/rehearse.js";
import { resourcesOf } from "./synth.js";
import { functionLogicalId } from "./template.js";

const log = process.env.RTCGW_REHEARSAL_VERBOSE ? (l: string) => console.log(`[rehearsal] ${l}`) : undefined;

describe("deploy rehearsal", () => {
  it("runs the node from the template's user data and takes a recorded call on every worker", async () => {
    const r: RehearsalReport = await rehearse({ ...(log ? { log } : {}) });
    // the bootstrap signalled the group's own resource, success
    expect(r.signal).toEqual(expect.arrayContaining(["--exit-code", "0", "--resource"]));
    // the env file the node runs with: 0600, the region, no secret (only its ARN)
    expect(r.envFile.mode).toBe(0o600);
    expect(r.envFile.vars.AWS_REGION).toBe("eu-west-3");
    expect(r.envFile.vars.RTCGW_NODE_SECRET).toBeUndefined();
    expect(r.envFile.vars.RTCGW_NODE_SECRET_ARN).toMatch(/^arn:aws:secretsmanager:/);
    // every worker registered; one call on each, each recorded into the bucket
    expect(r.workers.length).toBe(2);
    expect(new Set(r.calls.map((c) => c.nodeId)).size).toBe(2);
    const wavs = r.recordings.filter((x) => x.key.endsWith(".wav"));
    expect(wavs.length).toBe(r.calls.length);
    for (const w of wavs) {
      expect(w.seconds).toBeGreaterThan(2);
      expect(w.toneRatio).toBeGreaterThan(0.8);
    }
    expect(r.recordings.filter((x) => x.key.endsWith(".ogg") && x.bytes > 1000).length).toBe(r.calls.length);
    // the secret came from Secrets Manager, to the node and to the functions that sign
    const secretReaders = new Set(
      r.awsCalls.filter((c) => c.action === "secretsmanager:GetSecretValue").map((c) => c.principal),
    );
    expect(secretReaders).toEqual(new Set(["media-node", "fn-whip", "fn-sessions"]));
    const read = (who: string) =>
      r.awsCalls
        .filter((c) => c.action === "secretsmanager:GetSecretValue" && c.principal === who)
        .map((c) =>
          c.resource
            .split(":")
            .pop()!
            .replace(/[0-9A-F]{8}-AbCdEf$/, ""),
        );
    // the creating function read the API token, the token secret, the TURN secret, the node secret;
    // the node its own secret and (the bootstrap, for coturn) the TURN secret — nothing else
    expect(new Set(read("fn-whip"))).toEqual(
      new Set(["NodeSecret", "ApiToken", "TokenSecret", "TurnSecret"]),
    );
    expect(new Set(read("media-node"))).toEqual(
      new Set(["NodeSecret", "TurnSecret", "rtcgw-turn-tls-AbCdEf"]),
    );
    for (const env of Object.values(r.lambdaEnv))
      for (const name of ["RTCGW_NODE_SECRET", "RTCGW_API_TOKEN", "RTCGW_TOKEN_SECRET", "RTCGW_TURN_SECRET"])
        expect(Object.keys(env)).not.toContain(name);
    // the API is closed: no token 401; the API token 201; a client token from the token secret 201
    expect(r.auth).toEqual({ withoutToken: 401, withApiToken: 201, withClientToken: 201 });
    // TURN: each 201 names the TURN server of the node that took it (the node's public IP from
    // IMDS, the template's TURN port), with a credential minted from the TURN secret for that session
    const turnUrls = [
      `turn:127.0.0.1:${r.turnPort}?transport=udp`,
      `turn:127.0.0.1:${r.turnPort}?transport=tcp`,
      // TLS on the name the certificate is for ({ip} = the IMDS public IP here)
      `turns:127.0.0.1:${r.turnTlsPort}?transport=tcp`,
    ];
    expect(r.envFile.vars.RTCGW_NODE_TURN_URLS).toBe(turnUrls.join(","));
    expect(r.envFile.vars.RTCGW_TURN_SECRET).toBeUndefined();
    expect(r.turnConf).toEqual({ mode: 0o600, hasSecret: true });
    for (const c of r.calls) {
      const mine = r.links.filter((l) => l.sessionId === c.sessionId);
      expect(mine.map((l) => l.url)).toEqual(turnUrls);
      for (const l of mine) {
        expect(l.username).toMatch(new RegExp(`^\\d+:${c.sessionId}$`));
        expect(l.credentialValid).toBe(true);
      }
    }
    // and coturn, configured by the bootstrap from Secrets Manager, allocates for that credential
    expect(r.relayChecks.length).toBe(1);
    expect(r.relayChecks[0]!.relayCandidates).toBeGreaterThan(0);
    // over TLS too: the handed-out turns: URL, the operator's certificate verified, an allocation
    expect(r.tlsChecks).toEqual([
      expect.objectContaining({
        url: `turns:127.0.0.1:${r.turnTlsPort}?transport=tcp`,
        relayed: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      }),
    ]);
    // coturn is not root: its package's user, the low TLS port bound by its capability alone
    if (process.getuid?.() === 0) {
      expect(r.turnTlsPort).toBeLessThan(1024);
      expect(r.turnUser).toBe("turnserver");
    }
    // the instance went in service by its bootstrap (launch hook), and the CloudWatch agent got
    // a configuration its stand-in could read
    expect(r.launchActions).toEqual(["CONTINUE"]);
    expect(r.cloudWatchAgentConfig).toMatch(/amazon-cloudwatch-agent\.json$/);
    // (a rehearsal links this repository's node_modules and the machine's Node.js)
    expect(r.install).toEqual({ nodeFromRelease: false, nodeModulesInstalled: false });
    // scaling metric published; the termination hook drained the node and was completed
    expect(
      r.awsCalls.some(
        (c) =>
          c.action === "cloudwatch:PutMetricData" &&
          c.params?.["MetricData.member.1.MetricName"] === "SessionsPerInstance",
      ),
    ).toBe(true);
    expect(r.lifecycleCompleted).toBe(true);
    expect(r.nodesAfterDrain).toBe(0);
  }, 400_000);

  it("the stack's default TURN (no certificate): UDP and TCP only, no TLS listener, coturn not root", async () => {
    const r = await rehearse({ noTls: true });
    expect(r.envFile.vars.RTCGW_NODE_TURN_URLS).toBe(
      `turn:127.0.0.1:${r.turnPort}?transport=udp,turn:127.0.0.1:${r.turnPort}?transport=tcp`,
    );
    expect(r.links.every((l) => !l.url.startsWith("turns:") && l.credentialValid)).toBe(true);
    expect(r.tlsChecks).toEqual([]);
    expect(r.relayChecks[0]!.relayCandidates).toBeGreaterThan(0);
    if (process.getuid?.() === 0) expect(r.turnUser).toBe("turnserver");
    // the node role read no certificate
    expect(
      r.awsCalls.filter((c) => c.principal === "media-node" && c.resource.includes("rtcgw-turn-tls")),
    ).toEqual([]);
  }, 400_000);

  it("the bootstrap's real install branch: dnf (stand-in), the pinned Node.js from a nodejs.org/dist mirror checked against its SHASUMS256.txt, npm ci --omit=dev — the node runs from what it installed", async () => {
    const r = await rehearse({ realInstall: true, ...(log ? { log } : {}) });
    expect(r.signal).toEqual(expect.arrayContaining(["--exit-code", "0"]));
    expect(r.launchActions).toEqual(["CONTINUE"]);
    expect(new Set(r.calls.map((c) => c.nodeId)).size).toBe(r.workers.length);
    expect(r.recordings.filter((x) => x.key.endsWith(".wav")).length).toBe(r.calls.length);
    // the node ran on the Node.js the bootstrap unpacked, with the dependencies npm ci installed
    expect(r.install).toEqual({ nodeFromRelease: true, nodeModulesInstalled: true });
  }, 400_000);

  it("the real install branch on stock Amazon Linux 2023: dnf has no coturn (stand-in), so docker from dnf and coturn's image — the node comes up with TURN", async () => {
    const r = await rehearse({
      realInstall: true,
      pathWithout: ["turnserver"],
      noTls: true,
      ...(log ? { log } : {}),
    });
    expect(r.turnFrom).toBe("container");
    expect(r.bootstrapLog).toMatch(/No match for argument: coturn[\s\S]*Package docker is already installed/);
    expect(r.launchActions).toEqual(["CONTINUE"]);
    expect(r.relayChecks[0]!.relayCandidates).toBeGreaterThan(0);
    expect(r.install).toEqual({ nodeFromRelease: true, nodeModulesInstalled: true });
  }, 400_000);

  it("fails when the Node.js release does not match its checksum list (the real install branch)", async () => {
    await expect(rehearse({ realInstall: true, tamperNodeRelease: true })).rejects.toThrow(
      /launch action ABANDON[\s\S]*node-v[\d.]+-linux-\w+\.tar\.xz: FAILED/,
    );
  }, 300_000);

  it("stock Amazon Linux 2023 (no turnserver on the AMI, no coturn package): coturn's official image by Docker (stand-in), the same config, not root — the node comes up and relays, over TLS too", async () => {
    const r = await rehearse({ pathWithout: ["turnserver"], ...(log ? { log } : {}) });
    expect(r.turnFrom).toBe("container");
    expect(r.signal).toEqual(expect.arrayContaining(["--exit-code", "0"]));
    expect(r.launchActions).toEqual(["CONTINUE"]);
    // the unit: docker run, host network, the image by digest, the bootstrap's config read-only at
    // its own path, the state directory writable, as coturn's user with NET_BIND_SERVICE alone
    const execStart = /^ExecStart=(.*)$/m.exec(r.turnUnit ?? "")?.[1] ?? "";
    expect(execStart).toMatch(/\/docker run --rm --name rtcgw-turn --network host --user \d+:\d+ /);
    expect(execStart).toContain(" --cap-drop ALL --cap-add NET_BIND_SERVICE ");
    expect(execStart).not.toContain("--privileged");
    expect(execStart).toMatch(
      / --volume (\S+\/etc\/rtcgw-turn):\1:ro --volume (\S+\/var\/lib\/rtcgw-turn):\2:rw coturn\/coturn:[\w.-]+@sha256:[0-9a-f]{64} -c \S+\/etc\/rtcgw-turn\/turnserver\.conf --log-file=stdout$/,
    );
    expect(r.turnUnit).toMatch(/^Restart=always$/m);
    expect(r.turnUnit).toMatch(/^Requires=docker\.service$/m);
    expect(r.turnConf).toEqual({ mode: 0o600, hasSecret: true });
    // TURN through the handed-out URLs, as with the package's coturn
    for (const l of r.links) expect(l.credentialValid).toBe(true);
    expect(r.relayChecks[0]!.relayCandidates).toBeGreaterThan(0);
    expect(r.tlsChecks).toEqual([
      expect.objectContaining({
        url: `turns:127.0.0.1:${r.turnTlsPort}?transport=tcp`,
        relayed: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      }),
    ]);
    if (process.getuid?.() === 0) {
      expect(r.turnTlsPort).toBeLessThan(1024);
      expect(r.turnUser).toBe("turnserver");
      expect(execStart).toContain(
        ` --user ${execFileSync("id", ["-u", "turnserver"], { encoding: "utf8" }).trim()}:`,
      );
    }
    expect(new Set(r.calls.map((c) => c.nodeId)).size).toBe(r.workers.length);
  }, 400_000);

  it("fails loudly when TURN is on and neither coturn nor docker is installed: no TURN-less node, the launch abandoned", async () => {
    await expect(rehearse({ pathWithout: ["turnserver", "docker"] })).rejects.toThrow(
      /cfn-signal --exit-code\s1[\s\S]*launch action ABANDON[\s\S]*coturn is not installed and cannot be, and docker is not installed/,
    );
  }, 300_000);

  it("fails when --turn-runtime binary is forced and turnserver is not on the AMI, saying so", async () => {
    await expect(
      rehearse({
        pathWithout: ["turnserver"],
        synthEnv: { RTCGW_NODE_TURN_RUNTIME: "binary" },
      }),
    ).rejects.toThrow(/launch action ABANDON[\s\S]*--turn-runtime binary: turnserver is not on PATH/);
  }, 300_000);

  // the image's turnserver carries cap_net_bind_service as a file capability: the container
  // without it in its bounding set cannot even exec turnserver (the stand-in refuses as the kernel does)
  it.runIf(process.getuid?.() === 0)(
    "fails when coturn's container is run without NET_BIND_SERVICE (--cap-drop ALL alone)",
    async () => {
      await expect(
        rehearse({
          pathWithout: ["turnserver"],
          mutateBootstrap: (s) => s.replace(" --cap-add NET_BIND_SERVICE", ""),
          healthTimeoutS: 25,
        }),
      ).rejects.toThrow(/the TURN server \(port \d+\) did not come up/);
    },
    300_000,
  );

  // as root the TLS port is below 1024 and coturn runs as turnserver: only its capability binds it
  it.runIf(process.getuid?.() === 0)(
    "fails when coturn's unit lacks the capability to bind the TLS port (coturn is not root)",
    async () => {
      await expect(
        rehearse({
          mutateBootstrap: (s) => s.replace(/^AmbientCapabilities=CAP_NET_BIND_SERVICE\n/m, ""),
          healthTimeoutS: 25,
        }),
      ).rejects.toThrow(/the TURN server \(port \d+\) did not come up/);
    },
    300_000,
  );

  it("fails when the TURN TLS secret holds the certificate but no private key, saying so", async () => {
    await expect(rehearse({ tlsSecret: (cert) => cert, healthTimeoutS: 25 })).rejects.toThrow(
      /launch action ABANDON[\s\S]*must hold the certificate chain and its private key, PEM/,
    );
  }, 300_000);

  it("fails when the node's env file lacks AWS_REGION", async () => {
    await expect(
      rehearse({ mutateBootstrap: (s) => s.replace(/^AWS_REGION=\$REGION\n/m, ""), healthTimeoutS: 25 }),
    ).rejects.toThrow(/the node did not come up[\s\S]*no region/);
  }, 300_000);

  it("fails when a worker's UDP port is closed in the security group", async () => {
    await expect(
      rehearse({
        mutateTemplate: (t) => {
          const [[, sg]] = resourcesOf(t, "AWS::EC2::SecurityGroup").filter(([id]) =>
            id.startsWith("MediaNodesSg"),
          );
          const udp = sg.Properties.SecurityGroupIngress.find(
            (r: { IpProtocol: string; Description: string }) =>
              r.IpProtocol === "udp" && r.Description.startsWith("WebRTC media"),
          );
          udp.ToPort = udp.FromPort; // only worker 0's port, as the first template had it
        },
      }),
    ).rejects.toThrow(/did not connect: the port is closed in the security group/);
  }, 300_000);

  it("fails when a function's role lacks a table action its route uses", async () => {
    await expect(
      rehearse({
        mutateTemplate: (t) => {
          for (const [id, p] of resourcesOf(t, "AWS::IAM::Policy")) {
            if (!id.startsWith("FnwhipServiceRoleDefaultPolicy")) continue;
            for (const st of p.Properties.PolicyDocument.Statement)
              st.Action = ([] as string[]).concat(st.Action).filter((a) => a !== "dynamodb:Query");
          }
        },
      }),
    ).rejects.toThrow(/fn-whip: dynamodb:Query/);
  }, 300_000);

  it("fails when the whip function's role may not read the API token", async () => {
    await expect(
      rehearse({
        mutateTemplate: (t) => {
          const fnRole = (
            t.Resources[functionLogicalId(t, "whip")]!.Properties.Role as { "Fn::GetAtt": [string] }
          )["Fn::GetAtt"][0];
          for (const [, p] of resourcesOf(t, "AWS::IAM::Policy")) {
            if (!(p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === fnRole)) continue;
            p.Properties.PolicyDocument.Statement = p.Properties.PolicyDocument.Statement.filter(
              (st: { Resource: unknown }) => !JSON.stringify(st.Resource).includes('"ApiToken'),
            );
          }
        },
      }),
    ).rejects.toThrow(
      /fn-whip: secretsmanager:GetSecretValue on arn:aws:secretsmanager:[^ ]*:secret:ApiToken/,
    );
  }, 300_000);

  it("fails when the node's role may not write the recordings bucket", async () => {
    await expect(
      rehearse({
        mutateTemplate: (t) => {
          for (const [id, p] of resourcesOf(t, "AWS::IAM::Policy")) {
            if (!id.startsWith("MediaNodesRoleDefaultPolicy")) continue;
            for (const st of p.Properties.PolicyDocument.Statement)
              st.Action = ([] as string[]).concat(st.Action).filter((a) => a !== "s3:PutObject");
          }
        },
      }),
    ).rejects.toThrow(/never reached the bucket[\s\S]*media-node: s3:PutObject/);
  }, 300_000);
});
