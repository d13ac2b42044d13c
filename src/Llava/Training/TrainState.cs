using System.Text.Json;

namespace MultiLora.Llava.Training;

/// <summary>
/// Where a run stands, saved with every checkpoint so --resume continues exactly: optimizer steps
/// done, the epoch and how many of its inputs (in the epoch's deterministic global order, whatever the number of
/// ranks) were consumed, the torch RNG state (dropout), and the world size and global micro-batch (batch_size x
/// world) it was written with: the latter decides the order, so a resume checks it. 0 = not recorded (older checkpoints).
/// </summary>
public sealed record TrainState(int Step, int Epoch, long InputsConsumed, long TokensSeen, string? RngStateBase64, int WorldSize = 0, int GlobalMicroBatch = 0)
{
    public const string FileName = "trainer_state.json";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public void Write(string dir) => File.WriteAllText(Path.Combine(dir, FileName), JsonSerializer.Serialize(this, Json));

    public static TrainState Read(string dir)
    {
        string path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: trainer state not found (not a MultiLora checkpoint folder?)", path);
        try
        {
            return JsonSerializer.Deserialize<TrainState>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path}: empty trainer state");
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a valid trainer state ({e.Message})"); }
    }
}
