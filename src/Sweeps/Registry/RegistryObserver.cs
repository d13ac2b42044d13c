using MultiLora.Llava.Training;

namespace MultiLora.Sweeps.Registry;

/// <summary>
/// Records a run's steps in the registry as the trainer reports them (one row per optimizer step), and passes
/// everything on to <paramref name="inner"/> (the console's progress). The trainer itself knows nothing of sweeps.
/// Elapsed seconds are stored counting from the run's first attempt: <paramref name="carriedSeconds"/> is what
/// earlier attempts spent up to the checkpoint this one resumed from.
/// </summary>
public sealed class RegistryObserver(RunRegistry registry, long runId, ITrainingObserver inner, double carriedSeconds = 0) : ITrainingObserver
{
    public int TotalSteps { get; private set; }
    public long TrainableParameters { get; private set; }

    public void Started(string description, int totalSteps, long trainableParameters)
    {
        TotalSteps = totalSteps;
        TrainableParameters = trainableParameters;
        inner.Started(description, totalSteps, trainableParameters);
    }

    public void Step(StepMetrics metrics)
    {
        registry.AddMetric(runId, carriedSeconds == 0 ? metrics : metrics with { ElapsedSeconds = carriedSeconds + metrics.ElapsedSeconds });
        inner.Step(metrics);
    }

    public void Message(string text) => inner.Message(text);
}
