using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Sweeps.Grid;
using MultiLora.Sweeps.Planning;
using MultiLora.Sweeps.Registry;

namespace MultiLora.Tests.Sweeps;

/// <summary>
/// One writer of the many-process test: registers RUNS runs one transaction at a time and writes METRICS metric rows
/// spread over them, one step per transaction (as a training run does), then scores, cost and the final status.
/// Values are a function of (writer, run, step) so the test can check every row.
/// </summary>
public static class RegistryWriter
{
    public const string Sweep = "stress";

    public static string Key(int writer, int run) => $"writer={writer},run={run}";
    public static double Loss(int writer, int run, int step) => writer * 1000 + run + step / 100.0;

    public static int Run(string db, int writer, int runs, int metrics)
    {
        using var registry = RunRegistry.Open(db);
        int perRun = metrics / runs;
        for (int r = 0; r < runs; r++)
        {
            var axes = new CellAxes([new("writer", writer.ToString()), new("run", r.ToString())]);
            var planned = new PlannedRun(Key(writer, r), RunKind.Cell, axes, new TrainRecipe { OutputDir = $"/tmp/w{writer}/r{r}" }, "recipe", $"h{writer}-{r}", null);
            registry.Sync(Sweep, [planned], devices: 1);
            long id = registry.Run(Sweep, planned.Key)!.Id;
            registry.Claim(id, "host", writer, null, null);
            for (int s = 1; s <= perRun; s++)
                registry.AddMetric(id, new StepMetrics(s, perRun, 0, Loss(writer, r, s), 1e-3, 1.0, 100, 10, 0, 0, s, Tokens: 100, Samples: 4));
            registry.SetEvals(id, [new EvalRow("task", "accuracy", writer + r / 1000.0)]);
            registry.SetCost(id, 1.5, 0.5, 1024);
            registry.Finish(id, RunStatus.Done, null);
        }
        return 0;
    }
}
