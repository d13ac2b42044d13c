using MultiLora.Sweeps.Registry;

namespace MultiLora.Tests.Sweeps;

public class SweepFailureTests
{
    [Fact]
    public void A_failed_cell_is_recorded_with_its_error_the_sweep_goes_on_and_exits_nonzero_naming_it()
    {
        // captions only: text_mix 0.2 has no text-only data to mix, so that cell fails when it starts training
        using var bed = new SweepTestbed("failing", "  model.builtin: [micro]\n  data.text_mix: [0.2, 0]", steps: 2, saveEvery: 0, stage2Mixture: "data/stage1.yaml");
        var (code, output) = bed.Run(null, "sweep", "run", bed.Grid);
        Assert.Equal(1, code);
        Assert.Contains("failed:", output);
        Assert.Contains("model.builtin=micro,data.text_mix=0.2", output);

        using var registry = RunRegistry.Open(bed.Registry);
        var rows = registry.Runs("failing");
        var failed = Assert.Single(rows, r => r.Status == RunStatus.Failed);
        Assert.Equal("model.builtin=micro,data.text_mix=0.2", failed.Key);
        Assert.Contains("no text-only dataset", failed.Error);
        // the cell after it still ran
        Assert.Equal(RunStatus.Done, Assert.Single(rows, r => r.Key == "model.builtin=micro,data.text_mix=0").Status);
    }
}
