using System.Security.Cryptography;
using System.Text;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Sweeps.Grid;

namespace MultiLora.Sweeps.Planning;

/// <summary>
/// Turns a grid into runs: the cartesian product of the axes (minus exclude, plus include), and for each cell the
/// shared runs it starts from. A base run is decided by the base axes (model size), a stage-1 run by the stage-1
/// axes (model size, resolution) and the base it starts from; cells that agree there share one run, found by the
/// hash of its resolved recipe. Every recipe is loaded (and so validated) here, before anything trains.
/// </summary>
public static class SweepPlanner
{
    public static SweepPlan Plan(GridSpec grid)
    {
        var runs = new List<PlannedRun>();
        var shared = new Dictionary<string, PlannedRun>(StringComparer.Ordinal);
        var cells = new List<PlannedRun>();
        foreach (var cell in Cells(grid))
        {
            PlannedRun? upstream = null;
            if (grid.BaseRecipe is { } baseRecipe)
                upstream = Shared(grid, shared, runs, RunKind.Base, baseRecipe, Subset(cell, grid.BaseAxes), upstream);
            if (grid.Stage1Recipe is { } stage1)
                upstream = Shared(grid, shared, runs, RunKind.Stage1, stage1, Subset(cell, grid.Stage1Axes), upstream);
            var recipe = Load(grid, grid.Recipe, cell, upstream);
            string hash = RecipeText.Hash(recipe, grid.Folder);
            recipe.OutputDir = Path.Combine(grid.Workspace, "cells", $"{Slug(cell)}-{hash[..8]}");
            cells.Add(new PlannedRun(cell.Key, RunKind.Cell, cell, recipe, RecipeText.Portable(recipe, grid.Folder), hash, upstream?.Key));
        }
        // shared runs first, base before stage 1: the order a sequential launcher runs them in
        return new SweepPlan(grid, [.. runs.OrderBy(r => r.Kind), .. cells]);
    }

    /// <summary>The grid's cells: the product of the axes in their order, minus exclude matches, plus include entries.</summary>
    public static List<CellAxes> Cells(GridSpec grid)
    {
        IEnumerable<List<KeyValuePair<string, string>>> product = [[]];
        foreach (var axis in grid.Axes)
            product = product.SelectMany(prefix => axis.Values.Select(v => new List<KeyValuePair<string, string>>(prefix) { new(axis.Key, v) }));
        var cells = product.Select(p => new CellAxes(p)).Where(c => !grid.Exclude.Any(c.Matches)).ToList();
        foreach (var extra in grid.Include)
            if (!cells.Any(c => c.Key == extra.Key)) cells.Add(extra);
        if (cells.Count == 0) throw new InvalidDataException($"{grid.File}: exclude removes every cell");
        return cells;
    }

    static PlannedRun Shared(GridSpec grid, Dictionary<string, PlannedRun> shared, List<PlannedRun> runs, RunKind kind, string recipePath, CellAxes axes, PlannedRun? upstream)
    {
        var recipe = Load(grid, recipePath, axes, upstream);
        string hash = RecipeText.Hash(recipe, grid.Folder);
        string key = $"{kind.ToString().ToLowerInvariant()}:{hash}";
        if (shared.TryGetValue(key, out var existing)) return existing;
        recipe.OutputDir = Path.Combine(grid.Workspace, "shared", $"{kind.ToString().ToLowerInvariant()}-{hash}");
        var run = new PlannedRun(key, kind, axes, recipe, RecipeText.Portable(recipe, grid.Folder), hash, upstream?.Key);
        shared[key] = run;
        runs.Add(run);
        return run;
    }

    /// <summary>The recipe with the axis values applied (--set), starting from the upstream run's final model when there is one.</summary>
    static TrainRecipe Load(GridSpec grid, string recipePath, CellAxes axes, PlannedRun? upstream)
    {
        TrainRecipe recipe;
        try { recipe = RecipeLoader.Load(recipePath, [.. axes.Overrides]); }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or FileNotFoundException)
        {
            throw new InvalidDataException($"{grid.File}: cell {axes.Key}: {e.Message}");
        }
        if (upstream is not null) recipe.Model = new ModelSection { Path = upstream.FinalDir };
        recipe.OutputDir = "";
        return recipe;
    }

    static CellAxes Subset(CellAxes cell, IReadOnlyList<string> keys) => new(cell.Values.Where(kv => keys.Contains(kv.Key)).ToList());

    /// <summary>A folder name from the cell's values ("tiny_lora_32_0.2"); the recipe hash appended keeps it unique.</summary>
    static string Slug(CellAxes cell)
    {
        var text = cell.Values.Count == 0 ? "cell" : string.Join("_", cell.Values.Select(kv => kv.Value));
        var chars = text.Select(c => char.IsLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '-').ToArray();
        var slug = new string(chars);
        return slug.Length <= 80 ? slug : slug[..80];
    }
}
