using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace MultiLora.Tools.ScalarScan;

/// <summary>One method body of the scanned assembly: whom it calls and which Scalars it makes.</summary>
/// <param name="Token">metadata token (Roslyn's ISymbol.MetadataToken for the same method)</param>
/// <param name="Callees">methods of the same assembly it calls, creates, or takes a delegate to (call, callvirt, newobj, ldftn, ldvirtftn, jmp)</param>
/// <param name="Temporaries">Scalar-making methods (op_Implicit, ToScalar, the Scalar constructor, any method returning a Scalar)
/// whose result this method neither returns, stores in a field, nor keeps in a local it disposes or GC.KeepAlive()s afterwards:
/// a temporary that only a native call's copy of its handle refers to</param>
public sealed record IlMethod(
    MethodDefinitionHandle Handle,
    int Token,
    string DeclaringType,
    string Name,
    string ReturnType,
    bool IsCompilerGenerated,
    IReadOnlyList<MethodDefinitionHandle> Callees,
    IReadOnlyList<MethodDefinitionHandle> Temporaries)
{
    public string Display => $"{DeclaringType}.{Name}";
}

/// <summary>
/// Reads every method body of an assembly (here TorchSharp.dll) with System.Reflection.Metadata: the call graph
/// inside the assembly, and where Scalars are made. Nothing is loaded or executed.
/// </summary>
public sealed class TorchSharpIl
{
    public const string ScalarType = "TorchSharp.Scalar";
    static readonly Dictionary<short, OperandType> Operands = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value, o => o.OperandType);

    public IReadOnlyDictionary<MethodDefinitionHandle, IlMethod> Methods { get; }

    TorchSharpIl(IReadOnlyDictionary<MethodDefinitionHandle, IlMethod> methods) => Methods = methods;

    public static TorchSharpIl Read(string assemblyPath)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var md = pe.GetMetadataReader();
        var names = new TypeNames(md);
        var defsByTypeAndName = new Dictionary<(TypeDefinitionHandle, string), List<MethodDefinitionHandle>>();
        foreach (var th in md.TypeDefinitions)
            foreach (var mh in md.GetTypeDefinition(th).GetMethods())
            {
                var key = (th, md.GetString(md.GetMethodDefinition(mh).Name));
                if (!defsByTypeAndName.TryGetValue(key, out var list)) defsByTypeAndName[key] = list = [];
                list.Add(mh);
            }

        var returnTypes = new Dictionary<MethodDefinitionHandle, string>();
        string ReturnType(MethodDefinitionHandle h)
        {
            if (!returnTypes.TryGetValue(h, out var r))
                returnTypes[h] = r = md.GetMethodDefinition(h).DecodeSignature(names, null).ReturnType;
            return r;
        }

        // a MemberReference to a method of this assembly (a member of a generic instantiation): the definition with that name and signature
        MethodDefinitionHandle? Resolve(EntityHandle target)
        {
            switch (target.Kind)
            {
                case HandleKind.MethodDefinition:
                    return (MethodDefinitionHandle)target;
                case HandleKind.MethodSpecification:
                    return Resolve(md.GetMethodSpecification((MethodSpecificationHandle)target).Method);
                case HandleKind.MemberReference:
                    var member = md.GetMemberReference((MemberReferenceHandle)target);
                    if (member.GetKind() != MemberReferenceKind.Method) return null;
                    TypeDefinitionHandle? owner = member.Parent.Kind switch
                    {
                        HandleKind.TypeDefinition => (TypeDefinitionHandle)member.Parent,
                        HandleKind.TypeSpecification => GenericOwner(md, (TypeSpecificationHandle)member.Parent),
                        _ => null,   // another assembly
                    };
                    if (owner is null || !defsByTypeAndName.TryGetValue((owner.Value, md.GetString(member.Name)), out var candidates)) return null;
                    var signature = md.GetBlobBytes(member.Signature);
                    foreach (var c in candidates)
                        if (md.GetBlobBytes(md.GetMethodDefinition(c).Signature).AsSpan().SequenceEqual(signature)) return c;
                    return candidates.Count == 1 ? candidates[0] : null;
                default:
                    return null;
            }
        }

        var methods = new Dictionary<MethodDefinitionHandle, IlMethod>();
        foreach (var th in md.TypeDefinitions)
        {
            var type = md.GetTypeDefinition(th);
            string typeName = names.Full(th);
            bool generatedType = IsCompilerGenerated(md, type.GetCustomAttributes()) || typeName.Contains('<');
            foreach (var mh in type.GetMethods())
            {
                var method = md.GetMethodDefinition(mh);
                string name = md.GetString(method.Name);
                var callees = new List<MethodDefinitionHandle>();
                var temporaries = new List<MethodDefinitionHandle>();
                if (method.RelativeVirtualAddress != 0)
                {
                    var code = Decode(pe.GetMethodBody(method.RelativeVirtualAddress).GetILReader(), $"{typeName}.{name}");
                    for (int i = 0; i < code.Count; i++)
                    {
                        if (code[i].Operand is not OperandType.InlineMethod || Resolve(MetadataTokens.EntityHandle(code[i].Value)) is not { } callee) continue;
                        callees.Add(callee);
                        if ((ReturnType(callee) == ScalarType || IsScalarConstructor(md, names, callee)) && !KeptAlive(md, code, i))
                            temporaries.Add(callee);
                    }
                }
                methods[mh] = new IlMethod(mh, MetadataTokens.GetToken(mh), typeName, name, ReturnType(mh),
                    generatedType || IsCompilerGenerated(md, method.GetCustomAttributes()) || name.Contains('<'),
                    callees, temporaries);
            }
        }
        return new TorchSharpIl(methods);
    }

    static bool IsScalarConstructor(MetadataReader md, TypeNames names, MethodDefinitionHandle h)
    {
        var m = md.GetMethodDefinition(h);
        return md.GetString(m.Name) == ".ctor" && names.Full(m.GetDeclaringType()) == ScalarType;
    }

    /// <summary>One IL instruction: its operand kind and value (a token, a local's index, or 0).</summary>
    public readonly record struct Instruction(short OpCode, OperandType Operand, int Value);

    static List<Instruction> Decode(BlobReader il, string where)
    {
        var code = new List<Instruction>();
        while (il.RemainingBytes > 0)
        {
            short op = il.ReadByte();
            if (op == 0xFE) op = unchecked((short)(0xFE00 | il.ReadByte()));
            if (!Operands.TryGetValue(op, out var operand)) throw new InvalidDataException($"{where}: unknown opcode {op:x} at IL offset {il.Offset - 1}");
            int value = operand switch
            {
                OperandType.InlineNone => ImplicitLocal(op),
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => il.ReadByte(),
                OperandType.InlineVar => il.ReadUInt16(),
                OperandType.InlineI8 or OperandType.InlineR => (int)il.ReadInt64(),
                OperandType.InlineSwitch => SkipSwitch(ref il),
                _ => il.ReadInt32(),
            };
            code.Add(new Instruction(op, operand, value));
        }
        return code;
    }

    static int SkipSwitch(ref BlobReader il)
    {
        int targets = il.ReadInt32();
        il.Offset += 4 * targets;
        return targets;
    }

    /// <summary>The local index of ldloc.0-3 / stloc.0-3.</summary>
    static int ImplicitLocal(short op) => op switch
    {
        >= 0x06 and <= 0x09 => op - 0x06,   // ldloc.0..3
        >= 0x0A and <= 0x0D => op - 0x0A,   // stloc.0..3
        _ => 0,
    };

    static bool IsStloc(short op) => op is >= 0x0A and <= 0x0D or 0x13 or unchecked((short)0xFE0E);
    static bool IsLdloc(short op) => op is >= 0x06 and <= 0x09 or 0x11 or unchecked((short)0xFE0C);
    static bool IsStoreField(short op) => op is 0x7D or 0x80;   // stfld, stsfld
    const short Ret = 0x2A;

    /// <summary>
    /// Whether the Scalar made by instruction <paramref name="site"/> stays reachable after the native call that
    /// uses it: returned to the caller (whose own use is then checked), stored in a field, or stored in a local
    /// that is later disposed (a `using`) or passed to GC.KeepAlive.
    /// </summary>
    static bool KeptAlive(MetadataReader md, List<Instruction> code, int site)
    {
        if (site + 1 >= code.Count) return false;
        var next = code[site + 1];
        if (next.OpCode == Ret || IsStoreField(next.OpCode)) return true;
        if (!IsStloc(next.OpCode)) return false;
        for (int j = site + 2; j < code.Count; j++)
        {
            if (!IsLdloc(code[j].OpCode) || code[j].Value != next.Value) continue;
            for (int k = j + 1; k < Math.Min(code.Count, j + 4); k++)
                if (code[k].Operand == OperandType.InlineMethod && MethodName(md, code[k].Value) is "Dispose" or "KeepAlive") return true;
        }
        return false;
    }

    static string MethodName(MetadataReader md, int token)
    {
        var h = MetadataTokens.EntityHandle(token);
        return h.Kind switch
        {
            HandleKind.MethodDefinition => md.GetString(md.GetMethodDefinition((MethodDefinitionHandle)h).Name),
            HandleKind.MemberReference => md.GetString(md.GetMemberReference((MemberReferenceHandle)h).Name),
            _ => "",
        };
    }

    static TypeDefinitionHandle? GenericOwner(MetadataReader md, TypeSpecificationHandle spec)
    {
        var blob = md.GetBlobReader(md.GetTypeSpecification(spec).Signature);
        if (blob.ReadSignatureTypeCode() != SignatureTypeCode.GenericTypeInstance) return null;
        blob.ReadSignatureTypeCode();   // class or valuetype
        var handle = blob.ReadTypeHandle();
        return handle.Kind == HandleKind.TypeDefinition ? (TypeDefinitionHandle)handle : null;
    }

    static bool IsCompilerGenerated(MetadataReader md, CustomAttributeHandleCollection attributes)
    {
        foreach (var a in attributes)
        {
            var ctor = md.GetCustomAttribute(a).Constructor;
            if (ctor.Kind != HandleKind.MemberReference) continue;
            var parent = md.GetMemberReference((MemberReferenceHandle)ctor).Parent;
            if (parent.Kind == HandleKind.TypeReference && md.GetString(md.GetTypeReference((TypeReferenceHandle)parent).Name) == "CompilerGeneratedAttribute")
                return true;
        }
        return false;
    }

    /// <summary>Type names as C# writes them in full (namespace, outer types joined by '.'), enough to recognise Scalar and to print.</summary>
    sealed class TypeNames(MetadataReader md) : ISignatureTypeProvider<string, object?>
    {
        public string Full(TypeDefinitionHandle h)
        {
            var t = md.GetTypeDefinition(h);
            string name = md.GetString(t.Name);
            var outer = t.GetDeclaringType();
            return !outer.IsNil ? Full(outer) + "." + name : md.GetString(t.Namespace) is { Length: > 0 } ns ? ns + "." + name : name;
        }

        public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => Full(handle);
        public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind)
        {
            var t = reader.GetTypeReference(handle);
            return (reader.GetString(t.Namespace) is { Length: > 0 } ns ? ns + "." : "") + reader.GetString(t.Name);
        }
        public string GetTypeFromSpecification(MetadataReader reader, object? context, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, context);
        public string GetPrimitiveType(PrimitiveTypeCode typeCode) => "System." + typeCode;
        public string GetSZArrayType(string elementType) => elementType + "[]";
        public string GetArrayType(string elementType, ArrayShape shape) => elementType + "[" + new string(',', shape.Rank - 1) + "]";
        public string GetByReferenceType(string elementType) => elementType + "&";
        public string GetPointerType(string elementType) => elementType + "*";
        public string GetPinnedType(string elementType) => elementType;
        public string GetModifiedType(string modifier, string unmodifiedType, bool isRequired) => unmodifiedType;
        public string GetGenericInstantiation(string genericType, ImmutableArray<string> typeArguments) => genericType + "<" + string.Join(",", typeArguments) + ">";
        public string GetGenericMethodParameter(object? context, int index) => "!!" + index;
        public string GetGenericTypeParameter(object? context, int index) => "!" + index;
        public string GetFunctionPointerType(MethodSignature<string> signature) => "fnptr";
    }
}
