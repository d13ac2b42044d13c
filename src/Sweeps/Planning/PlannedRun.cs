using MultiLora.Llava.Training.Recipes;
using MultiLora.Sweeps.Grid;

namespace MultiLora.Sweeps.Planning;

/// <summary>base: pretraining of a base model (toy grids); stage1: projector pretraining shared by cells; cell: a grid cell.</summary>
public enum RunKind { Base, Stage1, Cell }

/// <summary>
/// One run of a sweep: its registry key, the axis values that decide it, the resolved recipe (absolute paths, as it
/// trains) and its portable text (paths relative to the grid file; what the registry stores and hashes), and
/// the key of the run whose final model it starts from.
/// </summary>
public sealed record PlannedRun(string Key, RunKind Kind, CellAxes Axes, TrainRecipe Recipe, string RecipeText, string Hash, string? Upstream)
{
    public string OutputDir => Recipe.OutputDir;
    public string FinalDir => Path.Combine(OutputDir, "final");
    public string KindName => Kind.ToString().ToLowerInvariant();
    /// <summary>A LoRA/QLoRA run's final folder is an adapter over its starting model; full and projector runs save a whole model.</summary>
    public bool SavesAdapter => Recipe.EffectiveMethod is TrainMethod.Lora or TrainMethod.Qlora;
}

/// <summary>Every run of a grid in dependency order (base runs, then stage-1 runs, then cells).</summary>
public sealed record SweepPlan(GridSpec Grid, IReadOnlyList<PlannedRun> Runs)
{
    public IEnumerable<PlannedRun> Cells => Runs.Where(r => r.Kind == RunKind.Cell);

    public PlannedRun Get(string key) => Runs.FirstOrDefault(r => r.Key == key)
        ?? throw new ArgumentException($"{Grid.File}: no run '{key}' in sweep {Grid.Name} (see `multilora sweep status`)");

    /// <summary>The runs that must finish before <paramref name="run"/> starts, nearest first.</summary>
    public IEnumerable<PlannedRun> Upstream(PlannedRun run)
    {
        for (var key = run.Upstream; key is not null;)
        {
            var up = Get(key);
            yield return up;
            key = up.Upstream;
        }
    }
}
