// CloudWatch PutMetricData (Query protocol): the node agent's per-instance figures (sessions,
// accepting workers) that the Auto Scaling policy and the alarms read.
import { AwsClient } from "./signed-request.js";

export interface Datum {
  name: string;
  value: number;
  unit?: "Count" | "Percent" | "None";
  dimensions?: Record<string, string>;
}

export async function putMetricData(namespace: string, data: Datum[], client = new AwsClient("monitoring")) {
  const p: Record<string, string> = { Namespace: namespace };
  data.forEach((d, i) => {
    const m = `MetricData.member.${i + 1}`;
    p[`${m}.MetricName`] = d.name;
    p[`${m}.Value`] = String(d.value);
    p[`${m}.Unit`] = d.unit ?? "Count";
    Object.entries(d.dimensions ?? {}).forEach(([k, v], j) => {
      p[`${m}.Dimensions.member.${j + 1}.Name`] = k;
      p[`${m}.Dimensions.member.${j + 1}.Value`] = v;
    });
  });
  await client.query("PutMetricData", "2010-08-01", p);
}
