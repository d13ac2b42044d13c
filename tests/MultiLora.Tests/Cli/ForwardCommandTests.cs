using System.Text.Json;
using MultiLora.Cli;
using MultiLora.Core.Safetensors;
using MultiLora.Tests.Common;
using MultiLora.Tests.Model;
using static TorchSharp.torch;

namespace MultiLora.Tests.Cli;

/// <summary>`multilora forward` end to end: image file and prompt in, HF-equal ids and logits out, on every checkpoint variant.</summary>
[Collection(CliCollection.Name)]
public sealed class ForwardCommandTests
{
    static readonly string Prompt = JsonDocument.Parse(File.ReadAllText(Fixture.Path("meta.json"))).RootElement.GetProperty("prompt").GetString()!;

    static SafetensorsFile Forward(string modelDir, string output, params string[] extra)
    {
        int code = CliApp.Run(["forward", "--model", modelDir, "--image", Fixture.Path("image.png"), "--prompt", Prompt,
            "--dtype", "float32", "--save", output, "--generate", "8", .. extra]);
        Assert.Equal(0, code);
        return SafetensorsFile.Open(output);
    }

    [Fact]
    public void Forward_OnTheFixture_ReproducesTransformersIdsLogitsAndGeneration()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        using var saved = Forward(Fixture.Path("model"), tmp.File("out.safetensors"));
        Assert.Equal(Oracle.Ids("input_ids"), saved.Load("input_ids").flatten().data<long>().ToArray());
        Assert.Equal(Oracle.Ids("generated_ids"), saved.Load("generated_ids").flatten().data<long>().ToArray());
        Oracle.Close(saved.Load("pixel_values"), Oracle.Load("pixel_values"), 2e-2, "pixel_values");
        Oracle.Close(saved.Load("logits"), Oracle.Load("logits"), 1e-4, "logits");
    }

    [Fact]
    public void Forward_WithQuantizeNf4_RunsTheModelQuantizedWhileLoading()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        using var saved = Forward(Fixture.Path("model"), tmp.File("out.safetensors"), "--quantize", "nf4");
        using var expected = Llava.Checkpoints.LlavaLoader.Load(Fixture.Path("model"), new Llava.Checkpoints.LoadOptions());
        Lora.Quantization.Quantizer.QuantizeLinears(expected, "model.language_model.", Lora.Quantization.QuantConfig.QLoRA);
        using var _ = no_grad();
        var logits = expected.Forward(saved.Load("input_ids"), saved.Load("pixel_values"));
        Assert.True(saved.Load("logits").eq(logits).all().item<bool>(), "--quantize nf4 logits differ from load-then-quantize");
    }

    [Fact]
    public void Forward_OnHubLayoutShardedBf16Checkpoint_WorksUnchanged()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        string dir = FixtureVariants.Write(Path.Combine(tmp.Path, "hub"), Layout.Hub, shards: 3, dtype: ScalarType.BFloat16);
        using var saved = Forward(dir, tmp.File("out.safetensors"));
        Assert.Equal(Oracle.Ids("input_ids"), saved.Load("input_ids").flatten().data<long>().ToArray());
        double rel = Oracle.RelativeError(saved.Load("logits"), Oracle.Load("logits"));
        Assert.True(rel < 2e-2, $"relative error {rel:E2}");
    }

    [Fact]
    public void Forward_WithFullSelectStrategy_ExpandsTheImageToSeventeenTokens()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        string dir = FixtureVariants.Write(Path.Combine(tmp.Path, "full"), Layout.Current, editConfig: c =>
        {
            c["vision_feature_layer"] = -3;
            c["vision_feature_select_strategy"] = "full";
        });
        using var saved = Forward(dir, tmp.File("out.safetensors"));
        var ids = saved.Load("input_ids").flatten().data<long>().ToArray();
        Assert.Equal(17, ids.Count(i => i == 400));
        Assert.Equal(48 + 1, ids.Length);
    }

    [Fact]
    public void Forward_OnMissingModelFolder_FailsWithOneLineNamingIt()
    {
        using var tmp = Fixture.Temp();
        int code = CliApp.Run(["forward", "--model", tmp.File("nope"), "--prompt", "hi", "--save", tmp.File("x.safetensors")]);
        Assert.Equal(1, code);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CliCollection
{
    public const string Name = "cli";
}
