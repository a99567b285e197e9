// Figures a bench reads from a media node's /metrics text (Prometheus exposition), one reader per
// figure so bench:sessions and --anchors parse them alike.

/** the event loop's p99 delay in ms (rtcgw_event_loop_delay_seconds, stat p99), if present */
export function loopP99Ms(metricsText: string): number | undefined {
  const m = /rtcgw_event_loop_delay_seconds\{[^}]*stat="p99"[^}]*\} ([\d.e+-]+)/.exec(metricsText);
  return m ? Number(m[1]) * 1000 : undefined;
}

/** rtcgw_bridge_audio_lost_seconds_total, in ms, by "direction/cause" (the node's own count of the bridge's
 *  audio dropped or sent late), added into `into` (several workers sum) */
export function bridgeLostMs(metricsText: string, into: Record<string, number> = {}): Record<string, number> {
  for (const m of metricsText.matchAll(/^rtcgw_bridge_audio_lost_seconds_total\{([^}]*)\} ([\d.e+-]+)$/gm)) {
    const direction = /direction="([^"]+)"/.exec(m[1]!)?.[1];
    const cause = /cause="([^"]+)"/.exec(m[1]!)?.[1];
    const k = `${direction}/${cause}`;
    into[k] = (into[k] ?? 0) + Number(m[2]) * 1000;
  }
  return into;
}
