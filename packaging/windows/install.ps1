#Requires -RunAsAdministrator
# Installs jvpn from this unpacked release zip and registers one tunnel as a Windows service.
#
#   powershell -ExecutionPolicy Bypass -File .\install.ps1 -TunnelName home -ConfigFile .\home.conf
#
# The service runs as LocalSystem (Wintun adapter creation needs SYSTEM/Administrator), own process,
# auto-start, depends on Nsi and TcpIp, SID type unrestricted (needed later for a WFP filter keyed on the
# service SID) - the same service configuration as wireguard-windows (manager/install.go).
# The service runs `jvpn.exe service run C:\ProgramData\jvpn\NAME.conf`: jvpn's Windows service host
# (Microsoft.Extensions.Hosting.WindowsServices), which answers the service control manager at once (no
# error 1053), brings the tunnel up, logs to the Application event log (source jvpn), and tears the
# tunnel down on stop/shutdown. `jvpn down NAME` from an elevated prompt also stops it (over the control
# pipe \\.\pipe\ProtectedPrefix\Administrators\WireGuard\NAME).
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9_=+.-]{1,32}$')][string]$TunnelName,
    [string]$ConfigFile,
    [switch]$NoStart
)
$ErrorActionPreference = 'Stop'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw 'install.ps1 must run from an elevated (Administrator) PowerShell.'
}

$source = $PSScriptRoot
$installDir = Join-Path $env:ProgramFiles 'jvpn'
$configDir = Join-Path $env:ProgramData 'jvpn'
$serviceName = "jvpn-$TunnelName"

# wintun.dll must be the unmodified, WireGuard-signed DLL from wintun.net; refuse anything else. The
# signer's common name must be exactly WireGuard's (a substring or pattern match would accept any valid
# certificate whose subject merely mentions it, e.g. "CN=Not WireGuard").
$wintunSigner = 'WireGuard LLC'
$sig = Get-AuthenticodeSignature -FilePath (Join-Path $source 'wintun.dll')
if ($sig.Status -ne 'Valid') {
    throw "wintun.dll Authenticode signature is '$($sig.Status)', expected Valid. Use the DLL from wintun.net unmodified."
}
$signerName = if ($null -eq $sig.SignerCertificate) { '' } else {
    $sig.SignerCertificate.GetNameInfo([Security.Cryptography.X509Certificates.X509NameType]::SimpleName, $false)
}
if ($signerName -cne $wintunSigner) {
    throw "wintun.dll is not signed by $wintunSigner (signer: '$signerName'). Use the DLL from wintun.net unmodified."
}

# Exactly the files of the release zip, by name: a wildcard would also copy any other DLL lying in the
# folder the zip was extracted to (Downloads...) next to a service that runs as SYSTEM.
$packageFiles = @('jvpn.exe', 'libsodium.dll', 'wintun.dll', 'wintun-LICENSE.txt', 'README.md', 'LICENSE.txt',
    'install.ps1', 'uninstall.ps1')
$requiredFiles = @('jvpn.exe', 'libsodium.dll', 'wintun.dll')
New-Item -ItemType Directory -Force -Path $installDir | Out-Null
foreach ($name in $packageFiles) {
    $file = Join-Path $source $name
    if (Test-Path -LiteralPath $file -PathType Leaf) {
        Copy-Item -Force -LiteralPath $file -Destination $installDir
    } elseif ($requiredFiles -contains $name) {
        throw "$name is missing from $source; extract the whole release zip and run install.ps1 from there."
    }
}

# Config directory: it holds private keys, so only SYSTEM and Administrators may use it. A directory that
# already exists (an earlier install, or one someone else created in advance) is taken over: owner
# Administrators and a protected ACL with exactly these two entries, for it and everything in it, so no
# owner or extra entry from before keeps access. Well-known SIDs, not names (names are localized).
if (Test-Path -LiteralPath $configDir) {
    $existing = Get-Item -LiteralPath $configDir -Force
    if (-not $existing.PSIsContainer -or ($existing.Attributes -band [IO.FileAttributes]::ReparsePoint)) {
        throw "$configDir exists but is not a plain directory (a file, link or junction). Remove it, then run install.ps1 again."
    }
} else {
    New-Item -ItemType Directory -Path $configDir | Out-Null
}
# takeown enables the take-ownership privilege, which works even when the current ACL grants nothing.
takeown.exe /F $configDir /A | Out-Null
if ($LASTEXITCODE -ne 0) {
    throw "Could not take ownership of $configDir (takeown exit $LASTEXITCODE)."
}
# A fresh security descriptor: protected (nothing inherited) and exactly two entries; Set-Acl writes the
# whole DACL, so every entry from before is gone.
$acl = New-Object Security.AccessControl.DirectorySecurity
$acl.SetAccessRuleProtection($true, $false)
$systemSid = New-Object Security.Principal.SecurityIdentifier 'S-1-5-18'
$adminsSid = New-Object Security.Principal.SecurityIdentifier 'S-1-5-32-544'
foreach ($sid in $systemSid, $adminsSid) {
    $acl.AddAccessRule((New-Object Security.AccessControl.FileSystemAccessRule($sid, 'FullControl',
        'ContainerInherit, ObjectInherit', 'None', 'Allow')))
}
Set-Acl -LiteralPath $configDir -AclObject $acl
$children = @(Get-ChildItem -LiteralPath $configDir -Recurse -Force)
foreach ($child in $children) {
    if ($child.Attributes -band [IO.FileAttributes]::ReparsePoint) {
        throw "$($child.FullName) is a link or junction inside $configDir. Remove it, then run install.ps1 again."
    }
    takeown.exe /F $child.FullName /A | Out-Null
    if ($LASTEXITCODE -ne 0) {
        throw "Could not take ownership of $($child.FullName) (takeown exit $LASTEXITCODE)."
    }
}
if ($children.Count -gt 0) {
    # Children: drop their own entries and inherit only the directory's two.
    icacls.exe "$configDir\*" /reset /T /C /Q | Out-Null
    if ($LASTEXITCODE -ne 0) {
        throw "Could not reset the permissions inside $configDir (icacls exit $LASTEXITCODE)."
    }
}
$configPath = Join-Path $configDir "$TunnelName.conf"
if ($ConfigFile) {
    Copy-Item -Force -Path $ConfigFile -Destination $configPath
}
if (-not (Test-Path $configPath)) {
    Write-Warning "No config at $configPath yet; put one there before starting the service."
}

$exe = Join-Path $installDir 'jvpn.exe'
$binaryPath = "`"$exe`" service run `"$configPath`""
if (Get-Service -Name $serviceName -ErrorAction SilentlyContinue) {
    throw "Service $serviceName already exists; run uninstall.ps1 -TunnelName $TunnelName first."
}
New-Service -Name $serviceName -BinaryPathName $binaryPath -DisplayName "jvpn tunnel $TunnelName" `
    -Description 'jvpn WireGuard-compatible VPN tunnel' -StartupType Automatic -DependsOn Nsi, TcpIp | Out-Null
# sc.exe needs the space after '='.
sc.exe sidtype $serviceName unrestricted | Out-Null
sc.exe failure $serviceName reset= 86400 actions= restart/5000/restart/5000/restart/5000 | Out-Null

if (-not $NoStart -and (Test-Path $configPath)) {
    Start-Service -Name $serviceName
}
Write-Host "Installed jvpn to $installDir; service $serviceName uses $configPath."
