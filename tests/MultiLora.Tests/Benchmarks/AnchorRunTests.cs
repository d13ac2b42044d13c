using MultiLora.Benchmarks.Anchor;
using MultiLora.Core.Tensors;
using MultiLora.Llava.BuiltIn;
using MultiLora.Lora.Quantization;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Tests.Benchmarks;

/// <summary>The presets run end to end at --cpu-small, and their synthetic inputs are hf_anchor.py's.</summary>
public sealed class AnchorRunTests
{
    [Fact]
    public void RandomWeights_MaterialisesEveryTensorWithTransformersInit()
    {
        var p = AnchorPreset.Find("llava-tinyllama1.1b-336-lora64").CpuSmall();
        using var model = RandomWeights.Build(p.ToConfig(), ScalarType.Float32, CPU);
        var named = model.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        Assert.All(named.Values, t => Assert.False(t.is_meta));
        Assert.Equal(1.0, named["model.language_model.norm.weight"].min().item<float>());
        Assert.Equal(0.0, named["model.multi_modal_projector.linear_1.bias"].abs().max().item<float>());
        double std = named["model.language_model.layers.0.mlp.up_proj.weight"].std().item<float>();
        Assert.InRange(std, 0.018, 0.022);
    }

    [Fact]
    public void RandomWeights_WithNf4_QuantizesEveryLanguageLinearAndNothingElse()
    {
        var p = AnchorPreset.Find("llava-7b-336-qlora128").CpuSmall();
        using var model = RandomWeights.Build(p.ToConfig(), ScalarType.Float32, CPU, QuantConfig.QLoRA);
        var modules = model.named_modules().ToList();
        Assert.Equal(p.Language.NumLayers * 7, modules.Count(m => m.module is Nf4Linear));
        Assert.DoesNotContain(modules, m => m.name.StartsWith("model.language_model.", StringComparison.Ordinal) && m.module is TorchSharp.Modules.Linear);
        Assert.IsType<TorchSharp.Modules.Linear>(modules.Single(m => m.name == "lm_head").module);
        Assert.All(modules.Where(m => m.module is Nf4Linear), m => Assert.True(((Nf4Linear)m.module).DoubleQuant, m.name));
    }

    [Fact]
    public void SyntheticBatch_IsBosImageThenTextWithTheFirstHalfOfTheTextUnscored()
    {
        var p = AnchorPreset.Find("llava-tinyllama1.1b-224-lora64");
        using var batch = SyntheticBatch.Train(p, CPU, ScalarType.Float32);
        Assert.Equal([16L, 384], batch.InputIds.shape);
        Assert.Equal([16L, 3, 224, 224], batch.Pixels.shape);
        var ids = batch.InputIds[0].data<long>().ToArray();
        var labels = batch.Labels[0].data<long>().ToArray();
        Assert.Equal(SyntheticBatch.Bos, ids[0]);
        Assert.All(ids[1..257], id => Assert.Equal(AnchorPreset.ImageTokenId, id));
        Assert.All(ids[257..], id => Assert.InRange(id, SyntheticBatch.FirstTextId, AnchorPreset.ImageTokenId - 1));
        // hf_anchor.py: labels[:, :1 + n_img + text // 2] = -100, so 384 - 321 = 63 positions are scored
        Assert.Equal(63, labels.Count(l => l != SyntheticBatch.Ignore));
        Assert.Equal(ids[321..], labels[321..]);
    }

    [Fact]
    public void CpuSmallRun_WritesOneJsonRowPerPresetWithFiniteFigures()
    {
        using var dir = Fixture.Temp();
        string output = dir.File("ours.jsonl");
        int rc = AnchorBenchmark.Run(["--cpu-small", "--device", "cpu", "--steps", "3", "--out", output,
            "--presets", "llava-tinyllama1.1b-224-lora64,llava-7b-336-qlora128,llava-7b-336-generate-b1"]);
        Assert.Equal(0, rc);
        var rows = AnchorResult.ReadAll(output);
        Assert.Equal(["llava-tinyllama1.1b-224-lora64", "llava-7b-336-qlora128", "llava-7b-336-generate-b1"], rows.Select(r => r.Name));
        Assert.All(rows, r => Assert.Null(r.Error));
        Assert.All(rows.Take(2), r =>
        {
            Assert.True(r.SamplesPerS > 0 && r.StepTimes!.Count == 3 && r.Mfu > 0, r.Name);
            Assert.True(double.IsFinite(r.FinalLoss!.Value) && r.FinalLoss > 5, $"{r.Name}: loss {r.FinalLoss}");   // ~ln(32064) from random weights
        });
        Assert.Equal(8, rows[2].NewTokens);
        Assert.True(rows[2].GenTokensPerS > 0);
    }
}
