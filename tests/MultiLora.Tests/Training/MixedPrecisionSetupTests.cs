using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Model;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Lora.Quantization;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Tests.Training;

/// <summary>dtype bfloat16 with LoRA/QLoRA on the tiny-llava fixture: what is stored in which dtype, and where gradients go.</summary>
public sealed class MixedPrecisionSetupTests
{
    /// <summary>
    /// |bf16-mixed - float32| of the first loss (LoRA B is zero, so the adapter adds nothing yet): bf16
    /// rounding of the frozen weights and activations only. Measured here: 0.0056 (lora, 6.768 vs 6.762)
    /// and 0.0006 (qlora, 6.7185 vs 6.7179).
    /// </summary>
    const double FirstLossTolerance = 0.02;

    static (LlavaForConditionalGeneration Model, TrainableParameters Trainable) Prepared(string method, string dtype)
    {
        var model = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions(dtype == "bfloat16" ? ScalarType.BFloat16 : ScalarType.Float32));
        var trainable = TrainingSetup.Apply(model, new TrainRecipe { Method = method, Dtype = dtype });
        model.train();
        return (model, trainable);
    }

    static Tensor Loss(LlavaForConditionalGeneration model) =>
        CausalLmLoss.Compute(model.Forward(Oracle.Load("train_input_ids"), Oracle.Load("pixel_values")), Oracle.Load("train_labels"));

    [Theory]
    [InlineData("lora")]
    [InlineData("qlora")]
    public void Bf16Recipe_KeepsTrainedParametersFloat32OverABf16FrozenBase(string method)
    {
        var (model, trainable) = Prepared(method, "bfloat16");
        using var _ = model;
        Assert.NotEmpty(trainable.Projector);
        Assert.Contains(trainable.Rest, p => p.Name.Contains(".lora_A.default.", StringComparison.Ordinal));
        Assert.All(trainable.All, p => Assert.True(p.Parameter.dtype == ScalarType.Float32, $"{p.Name} is {p.Parameter.dtype}"));
        var frozen = model.named_parameters().Where(p => !p.parameter.requires_grad).ToList();
        Assert.NotEmpty(frozen);
        Assert.All(frozen, p => Assert.True(p.parameter.dtype == ScalarType.BFloat16, $"{p.name} is {p.parameter.dtype}"));
        if (method == "qlora") Assert.Contains(model.modules(), m => m is Nf4Linear);
    }

    [Theory]
    [InlineData("lora")]
    [InlineData("qlora")]
    public void Bf16Recipe_SendsFiniteFloat32GradientsToEveryTrainedParameter(string method)
    {
        var (model, trainable) = Prepared(method, "bfloat16");
        using var _ = model;
        using (var scope = NewDisposeScope())
        {
            var loss = Loss(model);
            Assert.Equal(ScalarType.Float32, loss.dtype);
            loss.backward();
        }
        foreach (var (name, p) in trainable.All)
        {
            Assert.True(p.grad is not null, $"{name} got no gradient");
            Assert.Equal(ScalarType.Float32, p.grad!.dtype);
            Assert.True(p.grad.isfinite().all().item<bool>(), $"{name} has a non-finite gradient");
        }
        // B starts at zero, so A's gradient is zero at step 1; B's and the projector's are not
        foreach (var (name, p) in trainable.All.Where(p => !p.Name.Contains(".lora_A.", StringComparison.Ordinal)))
            Assert.True(p.grad!.abs().sum().item<float>() > 0, $"{name} got a zero gradient");
    }

    [Theory]
    [InlineData("lora")]
    [InlineData("qlora")]
    public void Bf16MixedFirstLoss_IsWithinToleranceOfTheFloat32One(string method)
    {
        double LossOf(string dtype)
        {
            var (model, _) = Prepared(method, dtype);
            using var m = model;
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            return Loss(model).item<float>();
        }
        double fp32 = LossOf("float32"), bf16 = LossOf("bfloat16");
        Assert.True(Math.Abs(bf16 - fp32) <= FirstLossTolerance, $"{method}: bf16-mixed loss {bf16:0.00000} vs float32 {fp32:0.00000}");
    }
}
