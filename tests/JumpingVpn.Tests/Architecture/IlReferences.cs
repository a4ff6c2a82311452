using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace JumpingVpn.Tests.Architecture;

/// <summary>One thing a method's IL names from another assembly: <see cref="Target"/> is
/// "Namespace.Type::Member" for a member reference or "Namespace.Type" for a bare type token.</summary>
internal readonly record struct IlReference(string OwnerType, string Method, string Target);

/// <summary>
/// Reads the IL of every method in an assembly file (System.Reflection.Metadata, nothing is loaded or run)
/// and lists the type and member references each method's instructions use. Nested and compiler-generated
/// types (lambdas, iterators, async state machines) are reported under their outermost declaring type, so
/// a rule about a type also covers the code the compiler moved out of it.
/// </summary>
internal static class IlReferences
{
    private static readonly Dictionary<ushort, OperandType> Operands = BuildOpCodeTable();

    public static List<IlReference> Scan(string assemblyPath, Func<string, bool> includeOwner)
    {
        using FileStream stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        MetadataReader md = pe.GetMetadataReader();
        var found = new List<IlReference>();
        foreach (TypeDefinitionHandle th in md.TypeDefinitions)
        {
            TypeDefinition type = md.GetTypeDefinition(th);
            string owner = OutermostName(md, type);
            if (!includeOwner(owner))
            {
                continue;
            }
            string typeName = DefinitionName(md, type);
            foreach (MethodDefinitionHandle mh in type.GetMethods())
            {
                MethodDefinition method = md.GetMethodDefinition(mh);
                if (method.RelativeVirtualAddress == 0)
                {
                    continue; // abstract, extern or runtime-implemented: no IL
                }
                string methodName = typeName + "." + md.GetString(method.Name);
                BlobReader il = pe.GetMethodBody(method.RelativeVirtualAddress).GetILReader();
                foreach (EntityHandle token in Tokens(il))
                {
                    string? target = Describe(md, token);
                    if (target is not null)
                    {
                        found.Add(new IlReference(owner, methodName, target));
                    }
                }
            }
        }
        return found;
    }

    private static List<EntityHandle> Tokens(BlobReader il)
    {
        var tokens = new List<EntityHandle>();
        while (il.RemainingBytes > 0)
        {
            ushort code = il.ReadByte();
            if (code == 0xFE)
            {
                code = (ushort)(0xFE00 | il.ReadByte());
            }
            if (!Operands.TryGetValue(code, out OperandType operand))
            {
                throw new InvalidOperationException($"unknown IL opcode 0x{code:X}");
            }
            switch (operand)
            {
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget:
                case OperandType.ShortInlineI:
                case OperandType.ShortInlineVar:
                    il.Offset += 1;
                    break;
                case OperandType.InlineVar:
                    il.Offset += 2;
                    break;
                case OperandType.InlineI8:
                case OperandType.InlineR:
                    il.Offset += 8;
                    break;
                case OperandType.InlineSwitch:
                    int targets = il.ReadInt32();
                    il.Offset += targets * 4;
                    break;
                case OperandType.InlineField:
                case OperandType.InlineMethod:
                case OperandType.InlineTok:
                case OperandType.InlineType:
                    tokens.Add(MetadataTokens.EntityHandle(il.ReadInt32()));
                    break;
                default: // InlineBrTarget, InlineI, ShortInlineR, InlineString, InlineSig
                    il.Offset += 4;
                    break;
            }
        }
        return tokens;
    }

    /// <summary>Names a token that points outside the assembly; definitions inside it are covered by
    /// scanning their own bodies, so they return null.</summary>
    private static string? Describe(MetadataReader md, EntityHandle token)
    {
        switch (token.Kind)
        {
            case HandleKind.MemberReference:
                MemberReference member = md.GetMemberReference((MemberReferenceHandle)token);
                string? parent = TypeName(md, member.Parent);
                return parent is null ? null : parent + "::" + md.GetString(member.Name);
            case HandleKind.MethodSpecification:
                return Describe(md, md.GetMethodSpecification((MethodSpecificationHandle)token).Method);
            case HandleKind.TypeReference:
            case HandleKind.TypeSpecification:
                return TypeName(md, token);
            default:
                return null;
        }
    }

    private static string? TypeName(MetadataReader md, EntityHandle handle)
    {
        switch (handle.Kind)
        {
            case HandleKind.TypeReference:
                TypeReference tr = md.GetTypeReference((TypeReferenceHandle)handle);
                string name = md.GetString(tr.Name);
                if (tr.ResolutionScope.Kind == HandleKind.TypeReference)
                {
                    return TypeName(md, (TypeReferenceHandle)tr.ResolutionScope) + "+" + name;
                }
                string ns = md.GetString(tr.Namespace);
                return ns.Length == 0 ? name : ns + "." + name;
            case HandleKind.TypeSpecification:
                // A generic instantiation names its generic type; arrays, pointers and generic
                // parameters name nothing a rule is about.
                BlobReader sig = md.GetBlobReader(md.GetTypeSpecification((TypeSpecificationHandle)handle).Signature);
                if (sig.ReadSignatureTypeCode() != SignatureTypeCode.GenericTypeInstance)
                {
                    return null;
                }
                sig.ReadSignatureTypeCode(); // class or valuetype
                return TypeName(md, sig.ReadTypeHandle());
            default:
                return null; // a definition inside the scanned assembly
        }
    }

    private static string OutermostName(MetadataReader md, TypeDefinition type)
    {
        while (type.IsNested)
        {
            type = md.GetTypeDefinition(type.GetDeclaringType());
        }
        return DefinitionName(md, type);
    }

    private static string DefinitionName(MetadataReader md, TypeDefinition type)
    {
        string name = md.GetString(type.Name);
        if (type.IsNested)
        {
            return DefinitionName(md, md.GetTypeDefinition(type.GetDeclaringType())) + "+" + name;
        }
        string ns = md.GetString(type.Namespace);
        return ns.Length == 0 ? name : ns + "." + name;
    }

    private static Dictionary<ushort, OperandType> BuildOpCodeTable()
    {
        var table = new Dictionary<ushort, OperandType>();
        foreach (FieldInfo field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            if (field.GetValue(null) is OpCode op)
            {
                table[(ushort)op.Value] = op.OperandType;
            }
        }
        return table;
    }
}
