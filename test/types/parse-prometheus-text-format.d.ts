/** Types of parse-prometheus-text-format 1.1 (the package ships none; its main sets module.exports to the parser). */
declare module 'parse-prometheus-text-format' {
  namespace parsePrometheusTextFormat {
    /** One sample of a counter, gauge or untyped metric; or of a histogram or summary. */
    interface ParsedSample {
      readonly value?: string;
      readonly labels?: Record<string, string>;
      /** Histograms: cumulative counts by upper bound (`+Inf` included). */
      readonly buckets?: Record<string, string>;
      /** Summaries: values by quantile. */
      readonly quantiles?: Record<string, string>;
      readonly count?: string;
      readonly sum?: string;
    }
    /** One metric family (`# HELP`, `# TYPE` and its samples). */
    interface ParsedFamily {
      readonly name: string;
      readonly help: string;
      readonly type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
      readonly metrics: ParsedSample[];
    }
  }
  /** Parses Prometheus' text exposition format (0.0.4); throws on a malformed line. */
  function parsePrometheusTextFormat(text: string): parsePrometheusTextFormat.ParsedFamily[];
  export = parsePrometheusTextFormat;
}
