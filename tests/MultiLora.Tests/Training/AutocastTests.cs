using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Model;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Lora.Adapters;
using MultiLora.Lora.Peft;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Tests.Training;

/// <summary>autocast: true under bf16: the adapter and the projector compute in bf16 while their float32 masters train.</summary>
public sealed class AutocastTests
{
    static (LlavaForConditionalGeneration Model, TrainableParameters Trainable) Prepared(bool autocast)
    {
        var model = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions(ScalarType.BFloat16));
        var trainable = TrainingSetup.Apply(model, new TrainRecipe { Method = "lora", Dtype = "bfloat16", Autocast = autocast, Lora = new LoraSection { Rank = 4, Alpha = 8 } });
        // the fixture's trained adapter (B is not zero), so the LoRA path contributes to the logits
        using (no_grad())
        {
            using var reference = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions());
            PeftAdapter.Load(Fixture.Path("adapter"), reference);
            var source = reference.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in model.named_parameters())
                if (name.Contains(".lora_", StringComparison.Ordinal)) p.copy_(source[name]);
        }
        model.train();
        return (model, trainable);
    }

    [Fact]
    public void Autocast_ComputesTheAdapterAndProjectorInBf16_AndTrainsTheirFloat32Masters()
    {
        using var scope = NewDisposeScope();
        var (model, trainable) = Prepared(autocast: true);
        using var _ = model;
        Assert.All(LoraInjector.LoraModules(model), m => Assert.Equal(ScalarType.BFloat16, m.Module.ComputeDType));
        Assert.Equal(ScalarType.BFloat16, model.model.multi_modal_projector.ComputeDType);
        Assert.Equal(ScalarType.BFloat16, model.ImageFeatures(Oracle.Load("pixel_values")).dtype);   // the projector ran in bf16
        var loss = CausalLmLoss.Compute(model.Forward(Oracle.Load("train_input_ids"), Oracle.Load("pixel_values")), Oracle.Load("train_labels"));
        loss.backward();
        Assert.All(trainable.All, p =>
        {
            Assert.Equal(ScalarType.Float32, p.Parameter.dtype);
            var grad = p.Parameter.grad;
            Assert.True(grad is not null && grad.dtype == ScalarType.Float32 && grad.isfinite().all().item<bool>() && grad.abs().sum().item<float>() > 0, $"{p.Name}: no finite float32 gradient");
        });
    }

    [Fact]
    public void Autocast_LossStaysWithinBf16RoundingOfFloat32Compute()
    {
        using var scope = NewDisposeScope();
        double Loss(bool autocast)
        {
            var (model, _) = Prepared(autocast);
            using (model)
            using (no_grad())
                return CausalLmLoss.Compute(model.Forward(Oracle.Load("train_input_ids"), Oracle.Load("pixel_values")), Oracle.Load("train_labels")).item<float>();
        }
        double exact = Loss(false), autocast = Loss(true);
        Assert.NotEqual(exact, autocast);                      // it did compute differently
        Assert.True(Math.Abs(exact - autocast) <= 0.02, $"autocast loss {autocast:0.00000} vs float32 adapter compute {exact:0.00000}");
    }

    [Fact]
    public void Autocast_UnderFloat32_ChangesNothing()
    {
        using var model = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions());
        TrainingSetup.Apply(model, new TrainRecipe { Method = "lora", Dtype = "float32", Autocast = true });
        Assert.All(LoraInjector.LoraModules(model), m => Assert.Null(m.Module.ComputeDType));
        Assert.Null(model.model.multi_modal_projector.ComputeDType);
    }
}
