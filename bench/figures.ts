/**
 * The one convention between the benchmarks and their runner (bench/run.ts): each benchmark prints, among its
 * human output, one line per figure, `BENCH ` then a JSON object:
 *   BENCH {"figure":"ack_p50_ms","value":31.2,"unit":"ms","baseline":29.5,"ratio":1.06}
 * `baseline` is the same figure for the reference measured in the same run (a bare Bolt app, the docker CLI, the
 * theoretical minimum); `ratio` is value / baseline.
 */

export interface Figure {
  figure: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

export const BENCH_PREFIX = 'BENCH ';

/** Prints one figure as a BENCH line; the ratio is value / baseline unless given. */
export const reportFigure = (figure: Figure): void => {
  const round = (n: number) => Math.round(n * 100) / 100;
  const ratio = figure.ratio ?? (figure.baseline ? figure.value / figure.baseline : undefined);
  const line: Figure = {
    figure: figure.figure,
    value: round(figure.value),
    unit: figure.unit,
    ...(figure.baseline === undefined ? {} : { baseline: round(figure.baseline) }),
    ...(ratio === undefined ? {} : { ratio: round(ratio) }),
  };
  console.log(`${BENCH_PREFIX}${JSON.stringify(line)}`);
};
