using MultiLora.Llava.Sessions;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Tests.Model;

public sealed class NamedAdapterTests
{
    [Fact]
    public void SeveralAdaptersOnOneBase_SwitchPerRequest()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        // a second adapter: the fixture's with its B matrices negated
        Directory.CreateDirectory(tmp.File("neg"));
        File.Copy(Fixture.Path("adapter", "adapter_config.json"), tmp.File("neg/adapter_config.json"));
        using (var source = MultiLora.Core.Safetensors.SafetensorsFile.Open(Fixture.Path("adapter", "adapter_model.safetensors")))
            MultiLora.Core.Safetensors.SafetensorsWriter.Write(tmp.File("neg/adapter_model.safetensors"),
                source.Tensors.Keys.Select(k => KeyValuePair.Create(k, k.Contains("lora_B") ? -source.Load(k) : source.Load(k))));

        using var session = LlavaSession.Open(new SessionOptions(new ModelSource(Fixture.Path("model"), AdapterDir: Fixture.Path("adapter"))));
        session.LoadAdapter("neg", tmp.File("neg"));
        Assert.Equal(["default", "neg"], session.Adapters);
        using var _ = no_grad();
        Tensor Logits() => session.Model.Forward(Oracle.Load("input_ids"), Oracle.Load("pixel_values"));

        session.UseAdapter("default");
        Oracle.Close(Logits(), Oracle.Load("lora_logits"), 1e-4, "default adapter");
        session.UseAdapter(null);
        Oracle.Close(Logits(), Oracle.Load("logits"), 1e-4, "no adapter");
        session.UseAdapter("neg");
        var negated = Logits();
        // W + BA and W - BA straddle W: their mean is the base model's output to first order of the tiny adapter
        Assert.True(Oracle.MaxAbsDiff(negated, Oracle.Load("lora_logits")) > 1e-3);
        var e = Assert.Throws<ArgumentException>(() => session.UseAdapter("nope"));
        Assert.Contains("'nope'", e.Message);
    }
}
