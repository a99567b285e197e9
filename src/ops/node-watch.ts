// When `rtcgw agent` gives up on its node: the group's health checks are EC2's, so an instance
// whose `rtcgw node` is dead — systemd restarts it, but a node that keeps failing (its registry
// unreachable from this instance, a broken disk) never comes back — stays InService and takes no
// call. The agent then marks the instance unhealthy and the group replaces it. This is the
// decision alone (a clock and what the agent saw), so that it is tested without waiting minutes.

export interface WatchInput {
  now: number;
  /** a worker of this instance is live; undefined: the agent could not tell (counts as live) */
  live: boolean | undefined;
  /** the instance's Auto Scaling target lifecycle state (IMDS), undefined if unknown */
  lifecycle: string | undefined;
  /** the agent is draining the node for the termination hook */
  terminating: boolean;
}

export class DeadNodeWatch {
  private since: number;
  private done = false;

  /** graceMs: how long no worker may be live (0: never report); startedAt: the agent's start,
   *  from which the first grace is counted (a node still starting is not dead) */
  constructor(
    private readonly graceMs: number,
    startedAt: number,
  ) {
    this.since = startedAt;
  }

  /** true: report the instance unhealthy now (then call reported(), or observe again to retry) */
  observe(i: WatchInput): boolean {
    // only an instance in service is judged: not while it launches (Pending:Wait, the bootstrap's
    // own health wait), is in Standby (an operator's), or drains (the termination hook); the
    // count starts again when it is back in service
    if (i.live !== false || i.terminating || i.lifecycle !== "InService") {
      this.since = i.now;
      return false;
    }
    return !this.done && this.graceMs > 0 && i.now - this.since >= this.graceMs;
  }

  /** the report was taken: never again for this agent */
  reported(): void {
    this.done = true;
  }
}
