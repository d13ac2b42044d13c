using MultiLora.Tests.Common;

namespace MultiLora.Tests.Sweeps;

/// <summary>A temp folder with a recipe and a grid file the grid tests vary.</summary>
sealed class GridFiles : IDisposable
{
    readonly Fixture.TempDir _tmp = Fixture.Temp();
    public string Root => _tmp.Path;
    public string Grid => _tmp.File("grid.yaml");

    public GridFiles()
    {
        File.WriteAllText(_tmp.File("recipe.yaml"), "data: {mixture: data/stage2.yaml}\nstage: 2\nmax_steps: 2\n");
        File.WriteAllText(_tmp.File("stage1.yaml"), "data: {mixture: data/stage1.yaml}\nstage: 1\nmax_steps: 2\n");
    }

    public string Write(string yaml)
    {
        File.WriteAllText(Grid, yaml);
        return Grid;
    }

    public void Dispose() => _tmp.Dispose();
}
