using MultiLora.Llava.Training.Recipes;
using MultiLora.Sweeps.Grid;
using MultiLora.Sweeps.Planning;

namespace MultiLora.Tests.Sweeps;

/// <summary>The shipped real-scale grid plans and dry-runs from its config files alone (nothing downloaded, nothing trained).</summary>
public class Lu2023GridTests
{

    [Fact]
    public void The_lu2023_grid_dry_runs_with_the_papers_parameter_counts()
    {
        var plan = SweepPlanner.Plan(GridLoader.Load(SweepTestbed.RepoFile("sweeps/lu2023-table4.yaml")));
        Assert.Equal(24, plan.Cells.Count());   // 2 models x (lora, qlora, full) x 2 resolutions x 2 mixes
        Assert.Equal(4, plan.Runs.Count(r => r.Kind == RunKind.Stage1));   // one per model and resolution
        Assert.Equal("slurm", plan.Grid.Launcher.Type);

        ParameterEstimate Estimate(string model, string method) => ParameterEstimator.For(plan,
            plan.Cells.First(c => c.Axes.Get("model.language")!.Contains(model) && c.Axes.Get("method") == method && c.Axes.Get("data.resolution") == "336"));
        var lora7 = Estimate("7b", "lora");
        var qlora7 = Estimate("7b", "qlora");
        var full7 = Estimate("7b", "full");
        var lora13 = Estimate("13b", "lora");

        // LoRA r64 on q,k,v,o (4096->4096), gate, up (4096->11008) and down (11008->4096) of 32 layers
        long lora = 32L * 64 * (4 * (4096 + 4096) + 3 * (4096 + 11008));
        long projector = 1024L * 4096 + 4096 + 4096L * 4096 + 4096;
        Assert.Equal(lora + projector, lora7.Trainable);
        Assert.Equal(lora7.Trainable, qlora7.Trainable);
        Assert.InRange(lora7.Total, 7.0e9, 7.3e9);      // Vicuna-7B 6.74B + CLIP-L 0.30B + projector + LoRA
        Assert.InRange(lora13.Total, 13.5e9, 13.7e9);   // 13.02B + 0.30B + projector + LoRA r64 (0.25B)
        Assert.InRange(full7.Trainable, 6.7e9, 6.8e9);  // the language model (with its new <image> row) and projector
        // bf16 frozen weights ~14 GB; NF4 stores the language model's linears at ~4.1 bits; full adds bf16 grads and AdamW
        Assert.InRange(lora7.WeightBytes / 1e9, 13.5, 14.5);
        Assert.InRange(qlora7.WeightBytes / 1e9, 3.8, 4.8);
        Assert.True(full7.TotalBytes > 3 * lora7.TotalBytes, $"full {full7.TotalBytes:N0} B vs LoRA {lora7.TotalBytes:N0} B");   // bf16 weights + bf16 grads + two bf16 AdamW moments of 6.8B parameters
        Assert.Equal(3 * lora7.Trainable * 4, lora7.GradientBytes + lora7.OptimizerBytes);   // float32 trained parameters: grad + 2 moments
        Assert.Equal(TrainMethod.Full, plan.Cells.First(c => c.Axes.Get("method") == "full").Recipe.EffectiveMethod);
        Assert.Equal(2e-5, plan.Cells.First(c => c.Axes.Get("method") == "full").Recipe.Optim.Lr);
    }
}
