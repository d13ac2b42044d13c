using System.Text.Json;
using MultiLora.Data.Errors;
using MultiLora.Data.Model;
using MultiLora.Data.Specs;

namespace MultiLora.Data.Readers;

/// <summary>Reads a LLaVA-style JSON array file (llava_v1_5_mix665k.json), streamed one record at a time.</summary>
public sealed class LlavaJsonReader(int bufferSize = JsonArrayStreamer.DefaultBufferSize) : IConversationReader
{
    public IEnumerable<Conversation> Read(string file, ColumnMapping columns, DataErrorPolicy errors)
    {
        using var streamer = new JsonArrayStreamer(file, bufferSize);
        while (streamer.TryNext(out var element))
        {
            var conversation = Parse(element, columns, file, streamer.Index, errors);
            if (conversation is not null) yield return conversation;
        }
    }

    static Conversation? Parse(ReadOnlyMemory<byte> element, ColumnMapping columns, string file, long index, DataErrorPolicy errors)
    {
        var origin = RecordBuilder.Origin(file, index);
        try
        {
            using var doc = JsonDocument.Parse(element);
            return JsonRecordParser.Parse(doc.RootElement, columns, origin, index);
        }
        catch (DataRecordException e) { errors.Handle(e); return null; }
    }
}
