using System.Text;
using MultiLora.Core.Safetensors;
using MultiLora.Lora.Quantization;
using MultiLora.Tests.Common;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MultiLora.Lora.Tests;

public sealed class QuantizedCheckpointTests : TorchTest
{
    [Fact]
    public void SaveThenLoad_UsesBitsAndBytesKeys_AndGivesIdenticalOutputs()
    {
        using var dir = Fixture.Temp();
        using var tree = new TinyLlava();
        Quantizer.QuantizeLinears(tree, "model.language_model.layers.0.", QuantConfig.QLoRA);
        Quantizer.QuantizeLinears(tree, "model.language_model.layers.1.", QuantConfig.QLoRA with { Type = QuantType.Int8 });
        using var x = randn(3, 48);
        using var expected = tree.forward(x);
        string path = dir.File("model.safetensors");
        QuantizedCheckpoint.Save(tree, path);

        using (var st = SafetensorsFile.Open(path))
        {
            const string q = "model.language_model.layers.0.self_attn.q_proj";
            Assert.Equal("U8", st.Tensors[$"{q}.weight"].DType);
            Assert.Equal([48L * 48 / 2, 1], st.Tensors[$"{q}.weight"].Shape);
            Assert.Equal("U8", st.Tensors[$"{q}.weight.absmax"].DType);
            Assert.Equal([16L], st.Tensors[$"{q}.weight.quant_map"].Shape);
            Assert.Equal("F32", st.Tensors[$"{q}.weight.nested_absmax"].DType);
            Assert.Equal([256L], st.Tensors[$"{q}.weight.nested_quant_map"].Shape);
            using var stateBytes = st.Load($"{q}.weight.quant_state.bitsandbytes__nf4");
            string json = Encoding.UTF8.GetString(stateBytes.data<byte>().ToArray());
            Assert.StartsWith("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [48, 48], \"nested_blocksize\": 256, \"nested_dtype\": \"float32\", \"nested_offset\": ", json);
            Assert.Equal("I8", st.Tensors["model.language_model.layers.1.mlp.up_proj.weight"].DType);
            Assert.Equal("F32", st.Tensors["model.language_model.layers.1.mlp.up_proj.SCB"].DType);
            Assert.Equal("F32", st.Tensors["lm_head.weight"].DType);
        }

        using var fresh = new TinyLlava();
        var replaced = QuantizedCheckpoint.Load(fresh, path);
        Assert.Equal(14, replaced.Count);
        Assert.IsType<Nf4Linear>(fresh.model.language_model.layers[0].mlp.gate_proj);
        Assert.IsType<Int8Linear>(fresh.model.language_model.layers[1].mlp.gate_proj);
        using var got = fresh.forward(x);
        Assert.True(TensorAssert.Identical(expected, got));
    }

    [Fact]
    public void Load_KeyWithoutAModule_IsAnError()
    {
        using var dir = Fixture.Temp();
        using var tree = new TinyLlava();
        string path = dir.File("model.safetensors");
        using var extra = zeros(3);
        var tensors = tree.state_dict().ToDictionary();
        tensors["model.language_model.layers.5.input_layernorm.weight"] = extra;
        SafetensorsWriter.Write(path, tensors);
        using var fresh = new TinyLlava();
        var e = Assert.Throws<InvalidDataException>(() => QuantizedCheckpoint.Load(fresh, path));
        Assert.Contains("model.language_model.layers.5.input_layernorm.weight", e.Message);
    }
}
