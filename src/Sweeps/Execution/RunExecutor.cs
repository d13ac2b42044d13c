using MultiLora.Core.Diagnostics;
using MultiLora.Eval.Running;
using MultiLora.Llava.Evaluation;
using MultiLora.Llava.Sessions;
using MultiLora.Llava.Training;
using MultiLora.Sweeps.Planning;
using MultiLora.Sweeps.Registry;

namespace MultiLora.Sweeps.Execution;

/// <summary>
/// Runs one run of a sweep in this process (what `multilora sweep cell` does, locally or as a Slurm array task):
/// claims it in the registry, trains (resuming from its newest checkpoint, with the metrics after that
/// checkpoint dropped, since those steps run again), evaluates a cell on the grid's tasks (resuming too), records
/// cost and scores, and marks it done, or failed with its error.
/// </summary>
public static class RunExecutor
{
    public static void Execute(SweepPlan plan, PlannedRun run, RunRegistry registry, ITrainingObserver console, RunContext context, CancellationToken ct = default)
    {
        string sweep = plan.Grid.Name;
        var row = registry.Run(sweep, run.Key) ?? throw new InvalidOperationException($"{registry.Path}: run {run.Key} of sweep {sweep} is not registered (start it with `multilora sweep run`)");
        if (run.Upstream is { } upKey && registry.Run(sweep, upKey) is { } up && up.Status != RunStatus.Done)
        {
            registry.Finish(row.Id, RunStatus.Failed, $"its {up.Kind} run {upKey} is {up.Status}{(up.Error is null ? "" : $": {up.Error}")}");
            throw new InvalidOperationException($"{run.Key}: its {up.Kind} run {upKey} is {up.Status}, not done");
        }
        registry.Claim(row.Id, context.Host, context.Pid, context.SlurmJob, context.GitCommit);
        try
        {
            double carried = Resume(registry, row.Id, run);
            var observer = new RegistryObserver(registry, row.Id, console, carried);
            var result = Trainer.Run(run.Recipe, observer, resume: true, ct);
            var estimate = ParameterEstimator.For(plan, run);
            registry.SetPlan(row.Id, observer.TotalSteps, observer.TrainableParameters, estimate.Total);
            double evalSeconds = 0;
            if (run.Kind == RunKind.Cell && plan.Grid.Eval is { } eval)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var results = Evaluate(run, eval, ct);
                evalSeconds = clock.Elapsed.TotalSeconds;
                registry.SetEvals(row.Id, results.Tasks.SelectMany(t => t.Metrics.Select(m => new EvalRow(t.Task, m.Key, m.Value))));
            }
            registry.SetCost(row.Id, carried + result.Seconds, evalSeconds, MemoryProbe.PeakResidentBytes());
            registry.Finish(row.Id, RunStatus.Done, null);
        }
        catch (Exception e)
        {
            registry.Finish(row.Id, RunStatus.Failed, OneLine(e));
            throw;
        }
    }

    /// <summary>
    /// Drops the metrics after the newest checkpoint (the resumed run repeats those steps) and returns the training
    /// seconds spent up to it, so a resumed run's wall time counts the work it kept.
    /// </summary>
    static double Resume(RunRegistry registry, long id, PlannedRun run)
    {
        int step = CheckpointStore.Latest(run.OutputDir) is { } latest ? TrainState.Read(latest).Step : 0;
        registry.TruncateMetrics(id, step);
        return step == 0 ? 0 : registry.Metrics(id).LastOrDefault(m => m.Step == step)?.ElapsedSeconds ?? 0;
    }

    /// <summary>The cell's model on the grid's tasks: an adapter over the model it started from (QLoRA: over the same quantized base), or the trained model.</summary>
    static RunResults Evaluate(PlannedRun run, Grid.EvalSpec eval, CancellationToken ct)
    {
        var r = run.Recipe;
        var source = run.SavesAdapter ? RecipeSources.Model(r) with { AdapterDir = run.FinalDir } : new ModelSource(run.FinalDir);
        using var session = LlavaSession.Open(new SessionOptions(source, r.Device, r.Dtype, Quantize: TrainingSetup.Quantization(r)));
        var options = new EvalRunOptions(eval.Tasks, eval.DataRoot, Path.Combine(run.OutputDir, "eval"), eval.TaskPaths, eval.Limit, eval.BatchSize,
            Adapter: source.AdapterDir);
        return EvalRunner.Run(new LlavaEvalModel(session, source.ToString()), options, ct);
    }

    /// <summary>An exception as the one line the registry and `sweep status` show.</summary>
    public static string OneLine(Exception e)
    {
        string text = e is AggregateException { InnerException: { } inner } ? inner.Message : e.Message;
        string line = text.ReplaceLineEndings(" ").Trim();
        return e is InvalidDataException or ArgumentException or IOException or InvalidOperationException or TrainingDivergedException
            ? line : $"{e.GetType().Name}: {line}";
    }
}
