using System.Buffers.Binary;
using System.Text;

namespace MultiLora.Core.Runtime;

/// <summary>
/// Rewrites a copy of libLibTorchSharp.so so that it loads against a libstdc++ older than GCC 13.
/// TorchSharp 0.107's native library needs GLIBCXX_3.4.32 for one symbol only,
/// <c>_ZSt21ios_base_library_initv</c>, which GCC 13 emits from every file that includes iostream;
/// GCC 12's libstdc++ performs the same initialisation without it. Three edits (see
/// docs in shared notes): mark the version requirement weak, make the symbol unversioned, and rename
/// it to a harmless libc function that takes no arguments.
/// </summary>
public static class ElfSymbolVersionPatch
{
    public const string MissingVersion = "GLIBCXX_3.4.32";
    public const string OffendingSymbol = "_ZSt21ios_base_library_initv";
    const string Replacement = "sched_yield";
    const ushort VerFlagWeak = 0x2;

    /// <summary>Patches <paramref name="elf"/> in place. Returns false when the file needs no patch.</summary>
    public static bool Apply(byte[] elf, string fileNameForErrors)
    {
        if (elf.Length < 64 || elf[0] != 0x7F || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F' || elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException($"{fileNameForErrors}: not a little-endian ELF64 file");

        var sections = ReadSections(elf);
        var dynsym = Find(sections, ".dynsym", fileNameForErrors);
        var dynstr = Find(sections, ".dynstr", fileNameForErrors);
        var versym = Find(sections, ".gnu.version", fileNameForErrors);
        var verneed = Find(sections, ".gnu.version_r", fileNameForErrors);

        bool changed = false;

        // 1. .gnu.version_r: the auxiliary entry naming GLIBCXX_3.4.32 becomes weak.
        long needOffset = verneed.Offset;
        while (true)
        {
            ushort count = U16(elf, needOffset + 2);
            long aux = needOffset + U32(elf, needOffset + 8);
            for (int i = 0; i < count; i++)
            {
                string name = CString(elf, dynstr.Offset + U32(elf, aux + 8));
                if (name == MissingVersion)
                {
                    ushort flags = U16(elf, aux + 4);
                    if ((flags & VerFlagWeak) == 0)
                    {
                        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan((int)(aux + 4)), (ushort)(flags | VerFlagWeak));
                        changed = true;
                    }
                }
                uint nextAux = U32(elf, aux + 12);
                if (nextAux == 0) break;
                aux += nextAux;
            }
            uint next = U32(elf, needOffset + 12);
            if (next == 0) break;
            needOffset += next;
        }

        // 2 and 3. The symbol: unversioned (index 1 = global) and renamed in .dynstr.
        long symbolCount = dynsym.Size / 24;
        for (long i = 0; i < symbolCount; i++)
        {
            long sym = dynsym.Offset + i * 24;
            long nameOffset = dynstr.Offset + U32(elf, sym);
            if (CString(elf, nameOffset) != OffendingSymbol) continue;
            BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan((int)(versym.Offset + i * 2)), 1);
            var replacement = new byte[OffendingSymbol.Length];
            Encoding.ASCII.GetBytes(Replacement).CopyTo(replacement, 0);
            replacement.CopyTo(elf, nameOffset);
            changed = true;
        }
        return changed;
    }

    /// <summary>True when the libstdc++ this process uses lacks <see cref="MissingVersion"/>.</summary>
    public static bool HostLibStdCxxNeedsPatch()
    {
        string? path = LoadedLibStdCxxPath();
        if (path is null) return false; // no libstdc++ in the process: nothing we can say, load normally
        var bytes = File.ReadAllBytes(path);
        return bytes.AsSpan().IndexOf(Encoding.ASCII.GetBytes(MissingVersion + "\0")) < 0;
    }

    static string? LoadedLibStdCxxPath()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                int slash = line.IndexOf('/');
                if (slash < 0) continue;
                string path = line[slash..];
                if (Path.GetFileName(path).StartsWith("libstdc++.so", StringComparison.Ordinal)) return path;
            }
        }
        catch (IOException) { }
        foreach (var dir in new[] { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib" })
        {
            var candidate = Path.Combine(dir, "libstdc++.so.6");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    readonly record struct Section(string Name, long Offset, long Size);

    static List<Section> ReadSections(byte[] elf)
    {
        long shoff = (long)U64(elf, 0x28);
        int shentsize = U16(elf, 0x3A), shnum = U16(elf, 0x3C), shstrndx = U16(elf, 0x3E);
        long strtab = (long)U64(elf, shoff + shstrndx * shentsize + 0x18);
        var list = new List<Section>(shnum);
        for (int i = 0; i < shnum; i++)
        {
            long h = shoff + (long)i * shentsize;
            list.Add(new Section(CString(elf, strtab + U32(elf, h)), (long)U64(elf, h + 0x18), (long)U64(elf, h + 0x20)));
        }
        return list;
    }

    static Section Find(List<Section> sections, string name, string file) =>
        sections.FirstOrDefault(s => s.Name == name) is { Name: not null } s
            ? s
            : throw new InvalidDataException($"{file}: ELF section {name} not found");

    static ushort U16(byte[] b, long o) => BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)o));
    static uint U32(byte[] b, long o) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)o));
    static ulong U64(byte[] b, long o) => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan((int)o));

    static string CString(byte[] b, long o)
    {
        int end = Array.IndexOf(b, (byte)0, (int)o);
        return Encoding.ASCII.GetString(b, (int)o, end - (int)o);
    }
}
