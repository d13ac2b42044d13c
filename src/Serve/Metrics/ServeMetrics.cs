using Prometheus;

namespace MultiLora.Serve.Metrics;

/// <summary>
/// The server's Prometheus metrics, in a registry of its own (several servers may share a process: tests).
/// Rates (tokens/s, requests/s) come from the counters through PromQL's rate(); the gauges and histograms say
/// what a rate cannot: how deep the queue is, how full the batches are, how long the first token takes.
/// </summary>
public sealed class ServeMetrics
{
    public CollectorRegistry Registry { get; } = Prometheus.Metrics.NewCustomRegistry();

    public Counter Requests { get; }
    public Gauge QueueDepth { get; }
    public Gauge Running { get; }
    public Histogram BatchSize { get; }
    public Histogram TimeToFirstToken { get; }
    public Counter PromptTokens { get; }
    public Counter GeneratedTokens { get; }
    public Histogram DecodeTokensPerSecond { get; }
    public Histogram RequestDuration { get; }

    public ServeMetrics()
    {
        var f = Prometheus.Metrics.WithCustomRegistry(Registry);
        Requests = f.CreateCounter("multilora_requests_total", "HTTP requests to the API, by model and status code.",
            new CounterConfiguration { LabelNames = ["model", "status"] });
        QueueDepth = f.CreateGauge("multilora_queue_depth", "Requests accepted and waiting for a batch slot.");
        Running = f.CreateGauge("multilora_running_requests", "Requests in the decoding batch.");
        BatchSize = f.CreateHistogram("multilora_batch_size", "Rows in each decode step.",
            new HistogramConfiguration { Buckets = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
        TimeToFirstToken = f.CreateHistogram("multilora_time_to_first_token_seconds", "From accepting a request to its first generated token, by model.",
            new HistogramConfiguration { LabelNames = ["model"], Buckets = Histogram.ExponentialBuckets(0.005, 2, 14) });
        PromptTokens = f.CreateCounter("multilora_prompt_tokens_total", "Prompt tokens run through the model (image tokens included), by model.",
            new CounterConfiguration { LabelNames = ["model"] });
        GeneratedTokens = f.CreateCounter("multilora_generation_tokens_total", "Tokens generated, by model (rate() gives tokens/s).",
            new CounterConfiguration { LabelNames = ["model"] });
        DecodeTokensPerSecond = f.CreateHistogram("multilora_request_tokens_per_second", "Each finished request's generated tokens per second after its first token, by model.",
            new HistogramConfiguration { LabelNames = ["model"], Buckets = Histogram.ExponentialBuckets(1, 2, 14) });
        RequestDuration = f.CreateHistogram("multilora_request_duration_seconds", "From accepting a request to its last token, by model.",
            new HistogramConfiguration { LabelNames = ["model"], Buckets = Histogram.ExponentialBuckets(0.01, 2, 14) });
    }

    /// <summary>The Prometheus text exposition format.</summary>
    public Task WriteAsync(Stream output, CancellationToken ct) => Registry.CollectAndExportAsTextAsync(output, ct);
}
