using MultiLora.Data.Errors;
using MultiLora.Data.Model;
using MultiLora.Data.Specs;

namespace MultiLora.Data.Readers;

/// <summary>
/// Reads one data file as a stream of conversations, one record at a time. A bad record goes to
/// <paramref name="errors"/> (thrown under fail, counted under skip); a file that cannot be read at all throws.
/// </summary>
public interface IConversationReader
{
    IEnumerable<Conversation> Read(string file, ColumnMapping columns, DataErrorPolicy errors);
}
