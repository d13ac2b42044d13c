using MultiLora.Core.Safetensors;
using MultiLora.Data.Synthetic;
using MultiLora.Llava.BuiltIn;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Lora.Adapters;
using MultiLora.Lora.Peft;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Tests.Training;

/// <summary>Short bf16-mixed runs on a tiny built-in model: the loss falls and what is saved is float32.</summary>
[Collection(Cli.CliCollection.Name)]
public sealed class MixedPrecisionTrainingTests : IDisposable
{
    readonly TinyTrainingWorkspace _work = new();

    public void Dispose() => _work.Dispose();

    [Theory]
    [InlineData("lora")]
    [InlineData("qlora")]
    public void Bf16MixedRun_LowersTheLossAndWritesAFloat32AdapterThatLoadsIntoAFloat32Model(string method)
    {
        var recorder = new StepRecorder();
        var result = Trainer.Run(_work.Recipe(method, 16, method, dtype: "bfloat16"), recorder);
        double first = recorder.Steps.Take(4).Average(s => s.Loss), last = recorder.Steps.TakeLast(4).Average(s => s.Loss);
        // measured here over 16 steps: lora 5.944 -> 5.613, qlora 5.945 -> 5.616
        Assert.True(last < first - 0.2, $"{method} bf16-mixed: loss {first:0.000} -> {last:0.000}");

        string adapterFile = Path.Combine(result.FinalDir, PeftAdapter.WeightsFile);
        foreach (var file in new[] { adapterFile, Path.Combine(result.OutputDir, "checkpoint-16", "trainable.safetensors") })
        {
            using var st = SafetensorsFile.Open(file);
            Assert.NotEmpty(st.Tensors);
            Assert.All(st.Tensors.Values, e => Assert.True(e.DType == "F32", $"{file}: {e.Name} is {e.DType}"));
        }

        // a QLoRA adapter applies to the unquantized base too (peft's usual hand-off)
        using var model = LlavaLoader.Load(_work.Base, new LoadOptions());
        PeftAdapter.Load(result.FinalDir, model);
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        using var saved = SafetensorsFile.Open(adapterFile);
        var (path, lora) = LoraInjector.LoraModules(model)[0];
        using var b = saved.Load(PeftKeyMapping.ToPeftKey(path, "lora_B.weight"));
        Assert.True(b.abs().sum().item<float>() > 0, "B moved off zero in training");
        Assert.True(b.eq(lora.LoraB("default").weight).all().item<bool>(), path);
    }

    [Fact]
    public void Bf16Stage1Final_HoldsAFloat32ProjectorOverBf16WeightsAndLoadsInEitherDtype()
    {
        var recipe = _work.Recipe("lora", 2, "stage1", dtype: "bfloat16");
        recipe.Stage = 1;
        var result = Trainer.Run(recipe, new StepRecorder());
        using (var st = SafetensorsFile.Open(Path.Combine(result.FinalDir, SafetensorsCheckpoint.SingleFile)))
            Assert.All(st.Tensors.Values, e => Assert.True(e.DType == (e.Name.Contains("multi_modal_projector", StringComparison.Ordinal) ? "F32" : "BF16"), $"{e.Name} is {e.DType}"));
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            using var model = LlavaLoader.Load(result.FinalDir, new LoadOptions(dtype));
            Assert.All(model.parameters(), p => Assert.Equal(dtype, p.dtype));
        }
    }
}
