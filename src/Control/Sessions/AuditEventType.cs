namespace JumpingVpn.Control.Sessions; public enum AuditEventType : byte { SessionCreated }
