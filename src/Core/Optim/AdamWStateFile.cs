using MultiLora.Core.Safetensors;
using static TorchSharp.torch;

namespace MultiLora.Core.Optim;

/// <summary>
/// <see cref="AdamW"/>'s state as a safetensors file, by parameter name (so it survives a reordering of the
/// parameters, and a mismatch is named): for every parameter NAME.step (int64 scalar, 0 before its first update)
/// and, once updated, NAME.exp_avg and NAME.exp_avg_sq in the parameter's dtype and shape: torch's per-parameter
/// state fields. The hyperparameters are not stored: they come from the recipe, the learning rate from the schedule.
/// </summary>
public static class AdamWStateFile
{
    public const string FileName = "optimizer.safetensors";
    const string Format = "multilora-adamw";
    const string StepKey = ".step", ExpAvgKey = ".exp_avg", ExpAvgSqKey = ".exp_avg_sq";
    static readonly string[] Fields = [StepKey, ExpAvgKey, ExpAvgSqKey];

    public static void Save(string path, AdamW optimizer)
    {
        using var scope = NewDisposeScope();
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var (name, _) in optimizer.Parameters)
        {
            var state = optimizer.State(name);
            tensors.Add(new(name + StepKey, tensor(state?.Step ?? 0L)));
            if (state is null) continue;
            tensors.Add(new(name + ExpAvgKey, state.ExpAvg));
            tensors.Add(new(name + ExpAvgSqKey, state.ExpAvgSq));
        }
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = Format, ["version"] = "1" });
    }

    /// <summary>
    /// Restores every parameter's state. The file must hold exactly the optimizer's parameters: what is missing, not
    /// in this run, or of another shape or dtype is listed in one error naming the file.
    /// </summary>
    public static void Load(string path, AdamW optimizer)
    {
        using var file = SafetensorsFile.Open(path);
        if (!file.Metadata.TryGetValue("format", out var format) || format != Format)
            throw new InvalidDataException($"{path}: not a MultiLora AdamW state (metadata format '{format}', expected '{Format}')");

        var parameters = optimizer.Parameters.ToDictionary(p => p.Name, p => p.Parameter, StringComparer.Ordinal);
        var missing = new List<string>();
        var misfit = new List<string>();
        var steps = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (name, p) in parameters)
        {
            if (!file.Tensors.TryGetValue(name + StepKey, out var stepEntry)) { missing.Add(name); continue; }
            if (stepEntry.DType != "I64" || stepEntry.Shape.Length != 0) { misfit.Add($"{name}.step is {stepEntry.DType} [{string.Join(", ", stepEntry.Shape)}], not an int64 scalar"); continue; }
            using (var s = file.Load(name + StepKey)) steps[name] = s.item<long>();
            if (steps[name] == 0) continue;
            string dtype = SafetensorsDType.FromTorch(p.dtype);
            foreach (var key in new[] { name + ExpAvgKey, name + ExpAvgSqKey })
            {
                if (!file.Tensors.TryGetValue(key, out var e)) missing.Add(key);
                else if (!e.Shape.SequenceEqual(p.shape) || e.DType != dtype)
                    misfit.Add($"{key} is {e.DType} [{string.Join(", ", e.Shape)}], the parameter {dtype} [{string.Join(", ", p.shape)}]");
            }
        }
        var extra = file.Tensors.Keys.Where(k => Owner(k) is not { } owner || !parameters.ContainsKey(owner))
            .Select(k => Owner(k) ?? k).Distinct().ToList();
        var problems = new List<string>();
        if (missing.Count > 0) problems.Add($"no state for {Listed(missing)}");
        if (extra.Count > 0) problems.Add($"state for {Listed(extra)} that this run does not train");
        if (misfit.Count > 0) problems.Add(Listed(misfit));
        if (problems.Count > 0)
            throw new InvalidDataException($"{path}: the optimizer state does not fit this run: {string.Join("; ", problems)} (was the checkpoint made with another method, model or recipe?)");

        foreach (var (name, step) in steps)
        {
            if (step == 0) { optimizer.Restore(name, 0, null, null); continue; }
            using var expAvg = file.Load(name + ExpAvgKey);
            using var expAvgSq = file.Load(name + ExpAvgSqKey);
            optimizer.Restore(name, step, expAvg, expAvgSq);
        }
    }

    /// <summary>The parameter name a key belongs to, or null when the key is not a state field.</summary>
    static string? Owner(string key) =>
        Fields.Where(f => key.EndsWith(f, StringComparison.Ordinal)).Select(f => key[..^f.Length]).FirstOrDefault();

    static string Listed(List<string> items) =>
        $"{items.Count}: {string.Join(", ", items.Take(5))}{(items.Count > 5 ? ", ..." : "")}";
}
