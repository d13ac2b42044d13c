using MultiLora.Data.Synthetic;
using MultiLora.Llava.BuiltIn;

namespace MultiLora.Benchmarks;

/// <summary>
/// What the training benchmarks train on: the synthetic stage-2 data at 32 px and the built-in LLaVA with its decoder
/// `hidden` wide and `layers` deep (heads of 64, key/value heads of 128, MLP 11/4 wide), fresh weights (seed 0).
/// </summary>
sealed record SyntheticWorkspace(string Data, string Model, TinyLlavaPreset Preset)
{
    public static SyntheticWorkspace Write(string root, int hidden, int layers, int trainRecords)
    {
        string data = Path.Combine(root, "data");
        SyntheticDatasetGenerator.Generate(data, new SynthOptions { Resolution = 32, Train = trainRecords, Eval = 10 });
        var preset = new TinyLlavaPreset(TextHidden: hidden, TextLayers: layers, TextHeads: hidden / 64, TextKvHeads: hidden / 128, TextIntermediate: hidden * 11 / 4);
        return new SyntheticWorkspace(data, BuiltInModel.Write(Path.Combine(root, "base"), preset, seed: 0), preset);
    }
}
