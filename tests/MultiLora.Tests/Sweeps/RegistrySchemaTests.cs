using Microsoft.Data.Sqlite;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Sweeps.Grid;
using MultiLora.Sweeps.Planning;
using MultiLora.Sweeps.Registry;
using MultiLora.Tests.Common;

namespace MultiLora.Tests.Sweeps;

public class RegistrySchemaTests
{
    static PlannedRun Run(string key) => new(key, RunKind.Cell, new CellAxes([new("method", "lora")]), new TrainRecipe { OutputDir = "/tmp/x" }, "recipe", "hash", null);

    [Fact]
    public void A_registry_at_an_older_schema_is_migrated_in_place_keeping_its_runs()
    {
        using var tmp = Fixture.Temp();
        string db = tmp.File("runs.db");
        using (var v1 = RunRegistry.Open(db, schemaVersion: 1))
        {
            Assert.Equal(1, v1.SchemaVersion);
            v1.Sync("s", [Run("method=lora")], devices: 2);
        }
        using var latest = RunRegistry.Open(db);
        Assert.Equal(RegistrySchema.Latest, latest.SchemaVersion);
        var row = Assert.Single(latest.Runs("s"));
        Assert.Equal("method=lora", row.Key);
        Assert.Equal(2, row.Devices);
        latest.RecordSweep(new SweepRow("s", "grid.yaml", "local", null, null, null));   // the table migration 2 added
        Assert.Equal("grid.yaml", latest.Sweep("s")!.GridFile);
    }

    [Fact]
    public void A_registry_from_a_newer_multilora_is_refused_not_rewritten()
    {
        using var tmp = Fixture.Temp();
        string db = tmp.File("runs.db");
        using (var r = RunRegistry.Open(db)) { }
        using (var c = new SqliteConnection($"Data Source={db};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"PRAGMA user_version = {RegistrySchema.Latest + 1}";
            cmd.ExecuteNonQuery();
        }
        var e = Assert.Throws<InvalidDataException>(() => RunRegistry.Open(db));
        Assert.Contains("newer than this MultiLora knows", e.Message);
        Assert.Contains(db, e.Message);
    }

    [Fact]
    public void A_run_whose_recipe_changed_starts_over()
    {
        using var tmp = Fixture.Temp();
        using var registry = RunRegistry.Open(tmp.File("runs.db"));
        registry.Sync("s", [Run("k")], 1);
        long id = registry.Run("s", "k")!.Id;
        registry.AddMetric(id, new MultiLora.Llava.Training.StepMetrics(1, 1, 0, 1.0, 0, 0, 0, 0, 0, 0, 0));
        registry.Finish(id, RunStatus.Done, null);
        registry.Sync("s", [Run("k") with { Hash = "other" }], 1);
        var row = registry.Run(id)!;
        Assert.Equal(RunStatus.Queued, row.Status);
        Assert.Empty(registry.Metrics(id));
    }
}
