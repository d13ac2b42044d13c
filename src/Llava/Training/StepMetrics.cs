namespace MultiLora.Llava.Training;

/// <summary>
/// One optimizer step as logged to the console, metrics.jsonl and TensorBoard. Loss, tokens/s, samples/s and
/// Tokens/Samples (what this step consumed) are the global batch's (all ranks); AllReducedBytes is what this rank passed
/// to the gradient all-reduce (0 in one process), CollectiveSeconds the time this rank spent in the step's collectives
/// (including waiting for slower ranks).
/// </summary>
public sealed record StepMetrics(
    int Step,
    int TotalSteps,
    int Epoch,
    double Loss,
    double LearningRate,
    double GradNorm,
    double TokensPerSecond,
    double SamplesPerSecond,
    long ResidentBytes,
    long PeakResidentBytes,
    double ElapsedSeconds,
    double? EvalLoss = null,
    long Tokens = 0,
    long Samples = 0,
    long AllReducedBytes = 0,
    double CollectiveSeconds = 0);

/// <summary>Receives progress from the trainer (the CLI draws a progress bar; tests record).</summary>
public interface ITrainingObserver
{
    void Started(string description, int totalSteps, long trainableParameters);
    void Step(StepMetrics metrics);
    void Message(string text);
}

/// <summary>What ranks other than 0 report to: nothing (rank 0 draws the progress and writes the logs).</summary>
public sealed class SilentObserver : ITrainingObserver
{
    public static SilentObserver Instance { get; } = new();
    public void Started(string description, int totalSteps, long trainableParameters) { }
    public void Step(StepMetrics metrics) { }
    public void Message(string text) { }
}
