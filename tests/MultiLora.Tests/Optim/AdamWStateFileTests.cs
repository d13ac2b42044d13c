using MultiLora.Core.Optim;
using MultiLora.Core.Tensors;
using MultiLora.Tests.Common;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace MultiLora.Tests.Optim;

/// <summary>The optimizer state file: by parameter name, every mismatch named; and the old TorchSharp file's conversion.</summary>
public sealed class AdamWStateFileTests
{
    static (string Name, Parameter Parameter) Param(string name, params long[] shape) => (name, new Parameter(randn(shape), requires_grad: true));

    /// <summary>Two steps with fixed gradients, the second without one for the last parameter.</summary>
    static AdamW Trained(List<(string Name, Parameter Parameter)> parameters)
    {
        var optimizer = new AdamW([new AdamWGroup(parameters, 1e-2, WeightDecay: 0.1)]);
        for (int step = 0; step < 2; step++)
        {
            for (int i = 0; i < parameters.Count; i++)
                parameters[i].Parameter.grad = step == 1 && i == parameters.Count - 1 ? null : ones_like(parameters[i].Parameter).mul_(Scalars.Of(0.5 + i));
            optimizer.Step();
        }
        return optimizer;
    }

    [Fact]
    public void SavedState_LoadsByName_IntoAnotherOrderAndGrouping()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        manual_seed(2);
        var parameters = new List<(string, Parameter)> { Param("w", 3, 4), Param("b", 4), Param("late", 2) };
        using var saved = Trained(parameters);
        string path = tmp.File(AdamWStateFile.FileName);
        AdamWStateFile.Save(path, saved);

        // the same parameters listed in another order and split into two groups
        var reordered = new List<(string Name, Parameter Parameter)> { parameters[2], parameters[0], parameters[1] };
        using var loaded = new AdamW([new AdamWGroup(reordered.Take(1).ToList(), 1e-2), new AdamWGroup(reordered.Skip(1).ToList(), 1e-3)]);
        AdamWStateFile.Load(path, loaded);
        foreach (var (name, _) in parameters)
        {
            var a = saved.State(name)!;
            var b = loaded.State(name)!;
            Assert.Equal(a.Step, b.Step);
            Assert.True(a.ExpAvg.eq(b.ExpAvg).all().item<bool>() && a.ExpAvgSq.eq(b.ExpAvgSq).all().item<bool>(), name);
        }
        Assert.Equal([2L, 2L, 1L], new[] { "w", "b", "late" }.Select(n => loaded.State(n)!.Step));
    }

    [Fact]
    public void ParameterNeverUpdated_IsSavedWithStepZero_AndLoadsWithoutState()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        var used = Param("used", 2);
        var idle = Param("idle", 2);
        using var optimizer = new AdamW([new AdamWGroup([used, idle], 1e-2)]);
        used.Parameter.grad = ones(2);
        optimizer.Step();
        string path = tmp.File(AdamWStateFile.FileName);
        AdamWStateFile.Save(path, optimizer);
        using var loaded = new AdamW([new AdamWGroup([used, idle], 1e-2)]);
        AdamWStateFile.Load(path, loaded);
        Assert.Equal(1, loaded.State("used")!.Step);
        Assert.Null(loaded.State("idle"));
    }

    [Fact]
    public void MismatchedState_IsRefused_NamingWhatIsMissingExtraAndMisshapen()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        using var saved = Trained([Param("kept", 3), Param("dropped", 2), Param("resized", 4)]);
        string path = tmp.File(AdamWStateFile.FileName);
        AdamWStateFile.Save(path, saved);

        using var other = new AdamW([new AdamWGroup([Param("kept", 3), Param("resized", 5), Param("new", 1)], 1e-2)]);
        var e = Assert.Throws<InvalidDataException>(() => AdamWStateFile.Load(path, other));
        Assert.Contains(path, e.Message);
        Assert.Contains("no state for 1: new", e.Message);
        Assert.Contains("state for 1: dropped that this run does not train", e.Message);
        Assert.Contains("resized.exp_avg is F32 [4], the parameter F32 [5]", e.Message);
    }

    [Fact]
    public void NotAnOptimizerStateFile_IsRefusedNamingTheFile()
    {
        using var tmp = Fixture.Temp();
        string path = tmp.File("weights.safetensors");
        MultiLora.Core.Safetensors.SafetensorsWriter.Write(path, [KeyValuePair.Create("w", zeros(2))]);
        using var optimizer = new AdamW([new AdamWGroup([Param("w", 2)], 1e-2)]);
        var e = Assert.Throws<InvalidDataException>(() => AdamWStateFile.Load(path, optimizer));
        Assert.Contains(path, e.Message);
        Assert.Contains("not a MultiLora AdamW state", e.Message);
    }

    [Fact]
    public void TorchSharpOptimizerBin_IsReadInItsParameterOrder_AndShapesAreCheckedByName()
    {
        // the fixture's optimizer.bin: the LoRA group (A and B of 7 targets in 2 layers), then the projector's 4 tensors
        string bin = Fixture.Other("legacy-checkpoint", "checkpoint-2", "optimizer.bin");
        using var file = TorchSharpAdamWFile.Read(bin);
        Assert.Equal(2, file.Groups.Count);               // language model (LoRA), projector
        Assert.All(file.States, s => Assert.Equal(2, s.Step));
        Assert.Equal(3e-3, file.Groups[0].Lr, 12);        // peak lr 3e-3, warmup 3% of 6 steps = 1 step: factor 1 at step 2
        using var trainable = MultiLora.Core.Safetensors.SafetensorsFile.Open(Fixture.Other("legacy-checkpoint", "checkpoint-2", "trainable.safetensors"));
        Assert.Equal(trainable.Tensors.Count, file.States.Count);

        // an optimizer whose parameters do not have the stored shapes is refused, the parameter named
        using var scope = NewDisposeScope();
        var wrong = file.States.Select((s, i) => Param($"p{i}", i == 5 ? [7] : s.ExpAvg.shape)).ToList();
        using var optimizer = new AdamW([new AdamWGroup(wrong.Take(wrong.Count - 4).ToList(), 1e-2), new AdamWGroup(wrong.Skip(wrong.Count - 4).ToList(), 1e-2)]);
        var e = Assert.Throws<InvalidDataException>(() => file.RestoreInto(optimizer, bin));
        Assert.Contains(bin, e.Message);
        Assert.Contains("'p5'", e.Message);
        using var fewer = new AdamW([new AdamWGroup(wrong.Take(3).ToList(), 1e-2)]);
        Assert.Contains("this run trains 1 group(s) and 3 parameter(s)", Assert.Throws<InvalidDataException>(() => file.RestoreInto(fewer, bin)).Message);
    }
}
