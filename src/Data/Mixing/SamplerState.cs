using System.Text.Json;

namespace MultiLora.Data.Mixing;

/// <summary>
/// Where a sampler stands: the epoch and the number of samples already drawn in it. Saved with a checkpoint,
/// it lets a resumed run draw exactly the samples the interrupted one would have drawn next.
/// </summary>
public sealed record SamplerState(int Epoch, long Position)
{
    public static SamplerState Start { get; } = new(0, 0);

    public string ToJson() => JsonSerializer.Serialize(new Dto(Epoch, Position), DtoOptions);

    public static SamplerState FromJson(string json)
    {
        Dto? dto;
        try { dto = JsonSerializer.Deserialize<Dto>(json, DtoOptions); }
        catch (JsonException e) { throw new InvalidDataException($"sampler state is not valid JSON ({e.Message}): {json}", e); }
        if (dto is null || dto.Epoch < 0 || dto.Position < 0) throw new InvalidDataException($"sampler state needs a non-negative epoch and position: {json}");
        return new SamplerState(dto.Epoch, dto.Position);
    }

    static readonly JsonSerializerOptions DtoOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow };

    sealed record Dto(int Epoch, long Position);
}
