#Requires -RunAsAdministrator
# Stops and removes the jvpn service(s) and the installed files. Configs in %ProgramData%\jvpn are kept
# unless -RemoveConfigs is given (they hold private keys the user may want to keep).
#
#   powershell -ExecutionPolicy Bypass -File .\uninstall.ps1 [-TunnelName home] [-RemoveConfigs]
[CmdletBinding()]
param(
    [string]$TunnelName,
    [switch]$RemoveConfigs
)
$ErrorActionPreference = 'Stop'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw 'uninstall.ps1 must run from an elevated (Administrator) PowerShell.'
}

$installDir = Join-Path $env:ProgramFiles 'jvpn'
$configDir = Join-Path $env:ProgramData 'jvpn'
$pattern = if ($TunnelName) { "jvpn-$TunnelName" } else { 'jvpn-*' }

foreach ($service in Get-Service -Name $pattern -ErrorAction SilentlyContinue) {
    if ($service.Status -ne 'Stopped') {
        Stop-Service -Name $service.Name -Force
    }
    sc.exe delete $service.Name | Out-Null
    Write-Host "Removed service $($service.Name)."
}

# Only remove the program when no tunnel service is left that still points at it.
if (-not (Get-Service -Name 'jvpn-*' -ErrorAction SilentlyContinue)) {
    # Wintun adapters are tied to the service process and vanish with it; then the driver itself can go
    # (WintunDeleteDriver; it refuses while another program's Wintun adapter exists, which is fine).
    $exe = Join-Path $installDir 'jvpn.exe'
    if (Test-Path $exe) {
        & $exe service remove-driver
        if ($LASTEXITCODE -ne 0) {
            Write-Warning 'The Wintun driver was left installed (another Wintun adapter may still be in use).'
        }
    }
    if (Test-Path $installDir) {
        Remove-Item -Recurse -Force -Path $installDir
    }
    if ($RemoveConfigs -and (Test-Path $configDir)) {
        Remove-Item -Recurse -Force -Path $configDir
    }
}
Write-Host 'jvpn uninstalled.'
