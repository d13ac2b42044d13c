using MultiLora.Sweeps.Grid;
using MultiLora.Sweeps.Planning;

namespace MultiLora.Tests.Sweeps;

public class GridLoaderTests
{
    const string Head = "name: g\nrecipe: recipe.yaml\nstage1_recipe: stage1.yaml\nworkspace: ws\n";

    static string ErrorOf(GridFiles files, string yaml)
    {
        var e = Assert.Throws<InvalidDataException>(() => SweepPlanner.Plan(GridLoader.Load(files.Write(yaml))));
        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith(files.Grid, e.Message);
        return e.Message;
    }

    [Fact]
    public void An_unknown_axis_key_is_one_line_naming_the_file_and_the_key()
    {
        using var f = new GridFiles();
        Assert.Contains("axes.lora.rnk: unknown recipe key 'lora.rnk'", ErrorOf(f, Head + "axes:\n  lora.rnk: [8, 16]\n"));
    }

    [Fact]
    public void An_empty_axis_is_refused()
    {
        using var f = new GridFiles();
        Assert.Contains("axes.method: is empty", ErrorOf(f, Head + "axes:\n  method: []\n"));
    }

    [Fact]
    public void A_value_of_the_wrong_type_is_refused_naming_the_key()
    {
        using var f = new GridFiles();
        Assert.Contains("axes.lora.rank: value 'big' is not an integer", ErrorOf(f, Head + "axes:\n  lora.rank: [8, big]\n"));
        Assert.Contains("axes.data.text_mix: value 'some' is not a number", ErrorOf(f, Head + "axes:\n  data.text_mix: [0, some]\n"));
    }

    [Fact]
    public void A_value_the_recipe_rejects_names_the_cell()
    {
        using var f = new GridFiles();
        var message = ErrorOf(f, Head + "axes:\n  method: [lora, dora]\n");
        Assert.Contains("cell method=dora", message);
        Assert.Contains("method 'dora' is not one of", message);
    }

    [Fact]
    public void A_missing_recipe_is_refused_naming_the_key()
    {
        using var f = new GridFiles();
        Assert.Contains("stage1_recipe: recipe nope.yaml not found", ErrorOf(f, "name: g\nrecipe: recipe.yaml\nstage1_recipe: nope.yaml\nworkspace: ws\naxes:\n  method: [lora]\n"));
    }

    [Fact]
    public void An_unknown_task_is_refused_naming_the_key()
    {
        using var f = new GridFiles();
        Assert.Contains("eval.tasks: unknown task 'pope2'", ErrorOf(f, Head + "axes:\n  method: [lora]\neval:\n  tasks: [pope, pope2]\n  data_root: d\n"));
    }

    [Fact]
    public void An_unknown_grid_key_is_refused()
    {
        using var f = new GridFiles();
        Assert.Contains("axis: unknown key", ErrorOf(f, Head + "axis:\n  method: [lora]\n"));
    }

    [Fact]
    public void Cells_are_the_product_minus_exclude_plus_include_and_share_stage1_per_resolution()
    {
        using var f = new GridFiles();
        var plan = SweepPlanner.Plan(GridLoader.Load(f.Write(Head + """
            axes:
              method: [full, lora, qlora]
              lora.rank: [8, 64]
              data.resolution: [16, 24]
            exclude:
              - {method: full, lora.rank: 64}
            include:
              - {method: lora, lora.rank: 128, data.resolution: 16}
            """)));
        // 3 x 2 x 2 = 12, minus the 2 full/r64 cells, plus one
        Assert.Equal(11, plan.Cells.Count());
        var stage1 = plan.Runs.Where(r => r.Kind == RunKind.Stage1).ToList();
        Assert.Equal(2, stage1.Count);   // one per resolution: method and rank do not change stage 1
        Assert.All(plan.Cells, c => Assert.Equal(c.Axes.Get("data.resolution"), plan.Get(c.Upstream!).Axes.Get("data.resolution")));
        var r64 = plan.Cells.First(c => c.Axes.Key == "method=lora,lora.rank=64,data.resolution=16");
        Assert.Equal(64, r64.Recipe.Lora.Rank);
        Assert.Equal(128, r64.Recipe.Lora.EffectiveAlpha);   // alpha follows the recipe's rule: 2 x rank
        Assert.Equal(24, plan.Cells.First(c => c.Axes.Get("data.resolution") == "24").Recipe.Data.Resolution);
        Assert.Equal(Path.Combine(plan.Get(r64.Upstream!).OutputDir, "final"), r64.Recipe.Model.Path);
    }

    [Fact]
    public void The_same_grid_in_another_folder_has_the_same_recipe_hashes()
    {
        using var a = new GridFiles();
        using var b = new GridFiles();
        const string yaml = Head + "axes:\n  method: [lora, qlora]\n  data.text_mix: [0, 0.2]\n";
        var hashes = (GridFiles g) => SweepPlanner.Plan(GridLoader.Load(g.Write(yaml))).Runs.Select(r => r.Key + r.Hash).ToList();
        Assert.Equal(hashes(a), hashes(b));
    }
}
