namespace MultiLora.Serve.Engine;

/// <param name="MaxBatch">rows decoded together at most (running requests)</param>
/// <param name="MaxQueue">requests accepted beyond the running ones, waiting for a slot; more are refused (429)</param>
/// <param name="StepDelay">a pause after every decode step: slows streaming down for demonstrations and UI tests; zero otherwise</param>
/// <param name="BatchInvariant">
/// compute every row of a decode step as it would be computed alone (matrix products one row per batch entry,
/// attention row by row), so a request's tokens never depend on the batch and equal `multilora generate`'s;
/// false: one matrix product over all rows and masked attention, which reads each weight once per step instead of once
/// per row (faster for models whose weights do not fit in cache) but rounds differently, so a greedy token can flip
/// where two logits are within rounding of each other
/// </param>
public sealed record SchedulerOptions(int MaxBatch = 16, int MaxQueue = 64, TimeSpan StepDelay = default, bool BatchInvariant = true)
{
    public void Validate()
    {
        if (MaxBatch < 1) throw new ArgumentException($"--max-batch must be at least 1, got {MaxBatch}");
        if (MaxQueue < 0) throw new ArgumentException($"--max-queue must be 0 or more, got {MaxQueue}");
        if (StepDelay < TimeSpan.Zero) throw new ArgumentException($"the step delay must not be negative, got {StepDelay}");
    }
}

/// <summary>What a submission came to.</summary>
public enum SubmitResult { Accepted, QueueFull, UnknownModel, ShuttingDown }

/// <summary>Counters a test or benchmark reads to see that batching happened (the metrics carry the same for operators).</summary>
public sealed class SchedulerStats
{
    long _steps, _peakBatch, _peakAdapters;
    public long Steps => Interlocked.Read(ref _steps);
    /// <summary>The most rows one decode step ran.</summary>
    public long PeakBatch => Interlocked.Read(ref _peakBatch);
    /// <summary>The most distinct adapters (the base counted as one) in one decode step.</summary>
    public long PeakAdaptersInStep => Interlocked.Read(ref _peakAdapters);

    long _prefillTicks, _decodeTicks, _prefills;
    /// <summary>Prompts run (prefills, on either thread) and the time spent in them; the model thread's time in decode steps.</summary>
    public long Prefills => Interlocked.Read(ref _prefills);
    public TimeSpan PrefillTime => TimeSpan.FromTicks(Interlocked.Read(ref _prefillTicks));
    public TimeSpan DecodeTime => TimeSpan.FromTicks(Interlocked.Read(ref _decodeTicks));

    internal void Prefilled(TimeSpan took)
    {
        Interlocked.Increment(ref _prefills);
        Interlocked.Add(ref _prefillTicks, took.Ticks);
    }

    internal void Decoded(TimeSpan took) => Interlocked.Add(ref _decodeTicks, took.Ticks);

    long _forwardTicks;
    /// <summary>Of the decode steps' time: the model's forward with the greedy picks read back (the rest: sampling, text, streaming).</summary>
    public TimeSpan ForwardTime => TimeSpan.FromTicks(Interlocked.Read(ref _forwardTicks));

    internal void Forwarded(TimeSpan took) => Interlocked.Add(ref _forwardTicks, took.Ticks);

    internal void Step(int rows, int adapters)
    {
        Interlocked.Increment(ref _steps);
        if (rows > PeakBatch) Interlocked.Exchange(ref _peakBatch, rows);
        if (adapters > PeakAdaptersInStep) Interlocked.Exchange(ref _peakAdapters, adapters);
    }
}
