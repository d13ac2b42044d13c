namespace MultiLora.Llava.Training;

/// <summary>One optimizer step as logged to the console, metrics.jsonl and TensorBoard.</summary>
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
    double? EvalLoss = null);

/// <summary>Receives progress from the trainer (the CLI draws a progress bar; tests record).</summary>
public interface ITrainingObserver
{
    void Started(string description, int totalSteps, long trainableParameters);
    void Step(StepMetrics metrics);
    void Message(string text);
}
