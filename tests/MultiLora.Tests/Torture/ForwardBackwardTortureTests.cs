using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Tests.Common;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MultiLora.Tests.Torture;

/// <summary>
/// The model side of a training step of every method (forward, loss, backward, gradient clipping) on the fixture
/// model under GC torture: bit-identical loss and gradients to the untortured step, and not one Scalar left to the
/// finalizer; <see cref="TrainingTortureTests"/> adds the optimizer step and the trainer around it.
/// </summary>
[Collection(TortureCollection.Name)]
public sealed class ForwardBackwardTortureTests(ITestOutputHelper log)
{
    static TrainRecipe Recipe(string variant) => new()
    {
        Method = variant switch { "checkpointing" or "bf16-mixed" => "lora", "stage1" => "lora", var m => m },
        Stage = variant == "stage1" ? 1 : 2,
        Dtype = variant == "bf16-mixed" ? "bfloat16" : "float32",
        GradientCheckpointing = variant == "checkpointing",
        Lora = new LoraSection { Rank = 4 },
    };

    /// <summary>The loss, the clipped gradient norm and every trainable gradient (as float32) of one step.</summary>
    static (float Loss, double Norm, float[] Gradients) Step(string variant)
    {
        var recipe = Recipe(variant);
        using var model = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions(
            MultiLora.Core.Runtime.TorchRuntime.ResolveDType(recipe.Dtype), Quantize: TrainingSetup.Quantization(recipe)));
        manual_seed(11);
        var trainable = TrainingSetup.Apply(model, recipe);
        model.model.language_model.GradientCheckpointing = recipe.GradientCheckpointing;
        model.train();
        using var scope = NewDisposeScope();
        var pixels = Oracle.Load("pixel_values").to(model.model.vision_tower.parameters().First().dtype);
        var loss = CausalLmLoss.Compute(model.Forward(Oracle.Load("train_input_ids"), pixels), Oracle.Load("train_labels"));
        loss.backward();
        var parameters = trainable.All.Select(p => p.Parameter).ToList();
        double norm = nn.utils.clip_grad_norm_(parameters, 0.5);
        var gradients = parameters.SelectMany(p => p.grad!.to(ScalarType.Float32).data<float>().ToArray()).ToArray();
        return (loss.item<float>(), norm, gradients);
    }

    [Theory]
    [InlineData("full")]
    [InlineData("lora")]
    [InlineData("qlora")]
    [InlineData("stage1")]
    [InlineData("checkpointing")]
    [InlineData("bf16-mixed")]
    public void ForwardBackwardAndClip_UnderGcTorture_EqualTheUntorturedStepAndFinaliseNoScalar(string variant)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var plain = Step(variant);
        log.WriteLine($"without torture {clock.Elapsed.TotalSeconds:0.0} s");
        var (tortured, report) = GcTorture.Run(() => Step(variant));
        log.WriteLine(report.ToString());
        Assert.Equal(plain.Loss, tortured.Loss);
        Assert.Equal(plain.Norm, tortured.Norm);
        Assert.NotEmpty(plain.Gradients);
        Assert.True(plain.Gradients.AsSpan().SequenceEqual(tortured.Gradients), $"{variant}: gradients differ under torture");
        report.AssertClean(variant);
    }
}
