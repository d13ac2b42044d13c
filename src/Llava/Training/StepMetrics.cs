namespace MultiLora.Llava.Training;

/// <summary>One optimizer step as logged to the console, metrics.jsonl and TensorBoard. Tokens/Samples: what this step consumed.</summary>
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
    long Samples = 0);

/// <summary>Receives progress from the trainer (the CLI draws a progress bar; tests record).</summary>
public interface ITrainingObserver
{
    void Started(string description, int totalSteps, long trainableParameters);
    void Step(StepMetrics metrics);
    void Message(string text);
}
