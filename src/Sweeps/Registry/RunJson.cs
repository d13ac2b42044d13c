using System.Text.Json.Nodes;

namespace MultiLora.Sweeps.Registry;

/// <summary>
/// `runs list --json`: per run id, sweep, kind, key, cell (axis -> value), status, error, metrics ("task/metric" ->
/// number), cost (wall_s, eval_s, device_hours, samples_per_s, tokens, samples, peak_memory_bytes, parameters) and
/// where it ran.
/// </summary>
public static class RunJson
{
    public static JsonObject Of(RunRow r, IEnumerable<EvalRow> evals)
    {
        var cell = new JsonObject();
        foreach (var (k, v) in r.Axes) cell[k] = v;
        var metrics = new JsonObject();
        foreach (var e in evals) metrics[$"{e.Task}/{e.Metric}"] = e.Value;
        return new JsonObject
        {
            ["id"] = r.Id,
            ["sweep"] = r.Sweep,
            ["kind"] = r.Kind,
            ["key"] = r.Key,
            ["cell"] = cell,
            ["status"] = r.Status,
            ["error"] = r.Error,
            ["metrics"] = metrics,
            ["cost"] = new JsonObject
            {
                ["wall_s"] = r.WallSeconds,
                ["eval_s"] = r.EvalSeconds,
                ["device_hours"] = r.DeviceHours,
                ["samples_per_s"] = r.SamplesPerSecond,
                ["tokens"] = r.Tokens,
                ["samples"] = r.Samples,
                ["peak_memory_bytes"] = r.PeakMemoryBytes,
                ["trainable_params"] = r.TrainableParams,
                ["total_params"] = r.TotalParams,
                ["devices"] = r.Devices,
            },
            ["steps"] = r.LastStep,
            ["total_steps"] = r.TotalSteps,
            ["final_loss"] = r.LastLoss,
            ["recipe_hash"] = r.RecipeHash,
            ["output_dir"] = r.OutputDir,
            ["host"] = r.Host,
            ["device"] = r.Device,
            ["git_commit"] = r.GitCommit,
            ["slurm_job"] = r.SlurmJob,
            ["started_utc"] = r.StartedUtc,
            ["finished_utc"] = r.FinishedUtc,
        };
    }
}
