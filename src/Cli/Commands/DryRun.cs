using System.Globalization;
using MultiLora.Sweeps.Planning;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>`sweep run --dry-run`: every run with its parameters and the memory of weights, adapters, gradients and AdamW state.</summary>
static class DryRun
{
    public static void Print(SweepPlan plan)
    {
        var table = new Table().Title($"sweep {plan.Grid.Name}: {plan.Cells.Count()} cells, {plan.Runs.Count - plan.Cells.Count()} shared runs (nothing run)")
            .AddColumns("kind", $"run ({string.Join(" ", plan.Grid.Axes.Select(a => a.Key))})", "method", "trainable", "total", "weights", "adapters", "gradients", "optimizer", "memory");
        foreach (var run in plan.Runs)
        {
            var e = ParameterEstimator.For(plan, run);
            // a cell by its values (the header names the axes), to keep the table narrow
            string name = run.Kind == RunKind.Cell ? string.Join(" ", run.Axes.Values.Select(kv => kv.Value)) : run.Key;
            table.AddRow(run.KindName, Markup.Escape(name), run.Recipe.EffectiveMethod.ToString().ToLowerInvariant(), Count(e.Trainable), Count(e.Total),
                Bytes(e.WeightBytes), Bytes(e.AdapterBytes), Bytes(e.GradientBytes), Bytes(e.OptimizerBytes), Bytes(e.TotalBytes));
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("memory: weights + adapters + gradients + AdamW moments, before activations (which depend on batch size, length and checkpointing)");
    }

    static string Count(long n) => n >= 1_000_000_000 ? $"{n / 1e9:0.00}B" : n >= 1_000_000 ? $"{n / 1e6:0.00}M" : n.ToString("N0", CultureInfo.InvariantCulture);

    static string Bytes(long b) => b >= 1L << 30 ? $"{b / (double)(1L << 30):0.00} GiB" : $"{b / (double)(1L << 20):0.0} MiB";
}
