// STM32F4 RCC driver (RM0090 §7): peripheral clock enable, disable and reset, and the bus clock
// frequencies the other drivers need (USART BRR, SPI prescaler). Register offsets and fields come
// from registers/stm32f4/rcc.json through assembly/generated/rcc.ts; clock and bus ids from
// registers/api-stm32f4.json. Usage: docs/drivers/stm32f4.md, "RCC".
//
// A clock id is (offset of the enable register << STM32_CLOCK_REGISTER_SHIFT) | bit. The driver
// checks that the offset is one of the five enable registers and the bit one of that register's
// named bits, so no table of ids is needed: STM32_CLOCK_USART1 = APB2ENR (0x44) << 8 | 4.
import { read32, modify32, dsb } from "../mmio";
import { isValidBase } from "../common";
import {
  RCC_CFGR, RCC_CFGR_SWS0, RCC_CFGR_SWS1, RCC_CFGR_HPRE_MASK, RCC_CFGR_HPRE_SHIFT,
  RCC_CFGR_PPRE1_MASK, RCC_CFGR_PPRE1_SHIFT, RCC_CFGR_PPRE2_MASK, RCC_CFGR_PPRE2_SHIFT,
  RCC_PLLCFGR, RCC_PLLCFGR_PLLSRC,
  RCC_PLLCFGR_PLLM0, RCC_PLLCFGR_PLLM1, RCC_PLLCFGR_PLLM2, RCC_PLLCFGR_PLLM3, RCC_PLLCFGR_PLLM4, RCC_PLLCFGR_PLLM5,
  RCC_PLLCFGR_PLLN0, RCC_PLLCFGR_PLLN1, RCC_PLLCFGR_PLLN2, RCC_PLLCFGR_PLLN3, RCC_PLLCFGR_PLLN4,
  RCC_PLLCFGR_PLLN5, RCC_PLLCFGR_PLLN6, RCC_PLLCFGR_PLLN7, RCC_PLLCFGR_PLLN8,
  RCC_PLLCFGR_PLLP0, RCC_PLLCFGR_PLLP1,
  RCC_AHB1ENR, RCC_AHB2ENR, RCC_AHB3ENR, RCC_APB1ENR, RCC_APB2ENR, RCC_AHB1RSTR,
  RCC_AHB1ENR_OTGHSULPIEN, RCC_AHB1ENR_OTGHSEN, RCC_AHB1ENR_ETHMACPTPEN, RCC_AHB1ENR_ETHMACRXEN,
  RCC_AHB1ENR_ETHMACTXEN, RCC_AHB1ENR_ETHMACEN, RCC_AHB1ENR_DMA2EN, RCC_AHB1ENR_DMA1EN,
  RCC_AHB1ENR_CCMDATARAMEN, RCC_AHB1ENR_BKPSRAMEN, RCC_AHB1ENR_CRCEN, RCC_AHB1ENR_GPIOIEN,
  RCC_AHB1ENR_GPIOHEN, RCC_AHB1ENR_GPIOGEN, RCC_AHB1ENR_GPIOFEN, RCC_AHB1ENR_GPIOEEN,
  RCC_AHB1ENR_GPIODEN, RCC_AHB1ENR_GPIOCEN, RCC_AHB1ENR_GPIOBEN, RCC_AHB1ENR_GPIOAEN,
  RCC_AHB2ENR_OTGFSEN, RCC_AHB2ENR_RNGEN, RCC_AHB2ENR_DCMIEN, RCC_AHB3ENR_FSMCEN,
  RCC_APB1ENR_DACEN, RCC_APB1ENR_PWREN, RCC_APB1ENR_CAN2EN, RCC_APB1ENR_CAN1EN, RCC_APB1ENR_I2C3EN,
  RCC_APB1ENR_I2C2EN, RCC_APB1ENR_I2C1EN, RCC_APB1ENR_UART5EN, RCC_APB1ENR_UART4EN,
  RCC_APB1ENR_USART3EN, RCC_APB1ENR_USART2EN, RCC_APB1ENR_SPI3EN, RCC_APB1ENR_SPI2EN,
  RCC_APB1ENR_WWDGEN, RCC_APB1ENR_TIM14EN, RCC_APB1ENR_TIM13EN, RCC_APB1ENR_TIM12EN,
  RCC_APB1ENR_TIM7EN, RCC_APB1ENR_TIM6EN, RCC_APB1ENR_TIM5EN, RCC_APB1ENR_TIM4EN,
  RCC_APB1ENR_TIM3EN, RCC_APB1ENR_TIM2EN,
  RCC_APB2ENR_TIM11EN, RCC_APB2ENR_TIM10EN, RCC_APB2ENR_TIM9EN, RCC_APB2ENR_SYSCFGEN,
  RCC_APB2ENR_SPI1EN, RCC_APB2ENR_SDIOEN, RCC_APB2ENR_ADC3EN, RCC_APB2ENR_ADC2EN, RCC_APB2ENR_ADC1EN,
  RCC_APB2ENR_USART6EN, RCC_APB2ENR_USART1EN, RCC_APB2ENR_TIM8EN, RCC_APB2ENR_TIM1EN,
  RCC_AHB1RSTR_OTGHSRST, RCC_AHB1RSTR_ETHMACRST, RCC_AHB1RSTR_DMA2RST, RCC_AHB1RSTR_DMA1RST,
  RCC_AHB1RSTR_CRCRST, RCC_AHB1RSTR_GPIOIRST, RCC_AHB1RSTR_GPIOHRST, RCC_AHB1RSTR_GPIOGRST,
  RCC_AHB1RSTR_GPIOFRST, RCC_AHB1RSTR_GPIOERST, RCC_AHB1RSTR_GPIODRST, RCC_AHB1RSTR_GPIOCRST,
  RCC_AHB1RSTR_GPIOBRST, RCC_AHB1RSTR_GPIOARST,
  RCC_AHB2RSTR_OTGFSRST, RCC_AHB2RSTR_RNGRST, RCC_AHB2RSTR_DCMIRST, RCC_AHB3RSTR_FSMCRST,
  RCC_APB1RSTR_DACRST, RCC_APB1RSTR_PWRRST, RCC_APB1RSTR_CAN2RST, RCC_APB1RSTR_CAN1RST,
  RCC_APB1RSTR_I2C3RST, RCC_APB1RSTR_I2C2RST, RCC_APB1RSTR_I2C1RST, RCC_APB1RSTR_UART5RST,
  RCC_APB1RSTR_UART4RST, RCC_APB1RSTR_UART3RST, RCC_APB1RSTR_UART2RST, RCC_APB1RSTR_SPI3RST,
  RCC_APB1RSTR_SPI2RST, RCC_APB1RSTR_WWDGRST, RCC_APB1RSTR_TIM14RST, RCC_APB1RSTR_TIM13RST,
  RCC_APB1RSTR_TIM12RST, RCC_APB1RSTR_TIM7RST, RCC_APB1RSTR_TIM6RST, RCC_APB1RSTR_TIM5RST,
  RCC_APB1RSTR_TIM4RST, RCC_APB1RSTR_TIM3RST, RCC_APB1RSTR_TIM2RST,
  RCC_APB2RSTR_TIM11RST, RCC_APB2RSTR_TIM10RST, RCC_APB2RSTR_TIM9RST, RCC_APB2RSTR_SYSCFGRST,
  RCC_APB2RSTR_SPI1RST, RCC_APB2RSTR_SDIORST, RCC_APB2RSTR_ADCRST, RCC_APB2RSTR_USART6RST,
  RCC_APB2RSTR_USART1RST, RCC_APB2RSTR_TIM8RST, RCC_APB2RSTR_TIM1RST,
} from "../generated/rcc";
import {
  OK, ERR_INVALID_ARG, ERR_CLOCK_CONFIG,
  STM32_CLOCK_REGISTER_SHIFT, STM32_CLOCK_BIT_MASK, STM32_BUS_APB1, STM32_BUS_APB2,
  STM32_HSI_HZ,
} from "../generated/api";

// Each enable register sits 0x20 above the reset register of the same bus (RM0090 §7.3.5-7.3.14:
// AHB1/2/3RSTR 0x10/0x14/0x18 and AHB1/2/3ENR 0x30/0x34/0x38; APB1/2RSTR 0x20/0x24 and
// APB1/2ENR 0x40/0x44), with the same bit for the same block (§7.3.5 ff.).
@inline const RESET_TO_ENABLE: u32 = RCC_AHB1ENR - RCC_AHB1RSTR;

// The named bits of each register (RM0090 §7.3.5-7.3.14, as the map has them). A clock id whose
// bit is not one of these is refused. The reset registers have fewer: no reset bit for the RAMs
// (CCMDATARAM, BKPSRAM), the Ethernet sub-clocks or ULPI, and one ADCRST for the three ADCs.
@inline const AHB1ENR_BITS: u32 = RCC_AHB1ENR_OTGHSULPIEN | RCC_AHB1ENR_OTGHSEN | RCC_AHB1ENR_ETHMACPTPEN
  | RCC_AHB1ENR_ETHMACRXEN | RCC_AHB1ENR_ETHMACTXEN | RCC_AHB1ENR_ETHMACEN | RCC_AHB1ENR_DMA2EN
  | RCC_AHB1ENR_DMA1EN | RCC_AHB1ENR_CCMDATARAMEN | RCC_AHB1ENR_BKPSRAMEN | RCC_AHB1ENR_CRCEN
  | RCC_AHB1ENR_GPIOIEN | RCC_AHB1ENR_GPIOHEN | RCC_AHB1ENR_GPIOGEN | RCC_AHB1ENR_GPIOFEN
  | RCC_AHB1ENR_GPIOEEN | RCC_AHB1ENR_GPIODEN | RCC_AHB1ENR_GPIOCEN | RCC_AHB1ENR_GPIOBEN | RCC_AHB1ENR_GPIOAEN;
@inline const AHB2ENR_BITS: u32 = RCC_AHB2ENR_OTGFSEN | RCC_AHB2ENR_RNGEN | RCC_AHB2ENR_DCMIEN;
@inline const AHB3ENR_BITS: u32 = RCC_AHB3ENR_FSMCEN;
@inline const APB1ENR_BITS: u32 = RCC_APB1ENR_DACEN | RCC_APB1ENR_PWREN | RCC_APB1ENR_CAN2EN | RCC_APB1ENR_CAN1EN
  | RCC_APB1ENR_I2C3EN | RCC_APB1ENR_I2C2EN | RCC_APB1ENR_I2C1EN | RCC_APB1ENR_UART5EN | RCC_APB1ENR_UART4EN
  | RCC_APB1ENR_USART3EN | RCC_APB1ENR_USART2EN | RCC_APB1ENR_SPI3EN | RCC_APB1ENR_SPI2EN | RCC_APB1ENR_WWDGEN
  | RCC_APB1ENR_TIM14EN | RCC_APB1ENR_TIM13EN | RCC_APB1ENR_TIM12EN | RCC_APB1ENR_TIM7EN | RCC_APB1ENR_TIM6EN
  | RCC_APB1ENR_TIM5EN | RCC_APB1ENR_TIM4EN | RCC_APB1ENR_TIM3EN | RCC_APB1ENR_TIM2EN;
@inline const APB2ENR_BITS: u32 = RCC_APB2ENR_TIM11EN | RCC_APB2ENR_TIM10EN | RCC_APB2ENR_TIM9EN
  | RCC_APB2ENR_SYSCFGEN | RCC_APB2ENR_SPI1EN | RCC_APB2ENR_SDIOEN | RCC_APB2ENR_ADC3EN | RCC_APB2ENR_ADC2EN
  | RCC_APB2ENR_ADC1EN | RCC_APB2ENR_USART6EN | RCC_APB2ENR_USART1EN | RCC_APB2ENR_TIM8EN | RCC_APB2ENR_TIM1EN;
@inline const AHB1RSTR_BITS: u32 = RCC_AHB1RSTR_OTGHSRST | RCC_AHB1RSTR_ETHMACRST | RCC_AHB1RSTR_DMA2RST
  | RCC_AHB1RSTR_DMA1RST | RCC_AHB1RSTR_CRCRST | RCC_AHB1RSTR_GPIOIRST | RCC_AHB1RSTR_GPIOHRST
  | RCC_AHB1RSTR_GPIOGRST | RCC_AHB1RSTR_GPIOFRST | RCC_AHB1RSTR_GPIOERST | RCC_AHB1RSTR_GPIODRST
  | RCC_AHB1RSTR_GPIOCRST | RCC_AHB1RSTR_GPIOBRST | RCC_AHB1RSTR_GPIOARST;
@inline const AHB2RSTR_BITS: u32 = RCC_AHB2RSTR_OTGFSRST | RCC_AHB2RSTR_RNGRST | RCC_AHB2RSTR_DCMIRST;
@inline const AHB3RSTR_BITS: u32 = RCC_AHB3RSTR_FSMCRST;
// The map names APB1RSTR bits 17 and 18 UART2RST / UART3RST as the SVD does; they reset USART2/3.
@inline const APB1RSTR_BITS: u32 = RCC_APB1RSTR_DACRST | RCC_APB1RSTR_PWRRST | RCC_APB1RSTR_CAN2RST
  | RCC_APB1RSTR_CAN1RST | RCC_APB1RSTR_I2C3RST | RCC_APB1RSTR_I2C2RST | RCC_APB1RSTR_I2C1RST
  | RCC_APB1RSTR_UART5RST | RCC_APB1RSTR_UART4RST | RCC_APB1RSTR_UART3RST | RCC_APB1RSTR_UART2RST
  | RCC_APB1RSTR_SPI3RST | RCC_APB1RSTR_SPI2RST | RCC_APB1RSTR_WWDGRST | RCC_APB1RSTR_TIM14RST
  | RCC_APB1RSTR_TIM13RST | RCC_APB1RSTR_TIM12RST | RCC_APB1RSTR_TIM7RST | RCC_APB1RSTR_TIM6RST
  | RCC_APB1RSTR_TIM5RST | RCC_APB1RSTR_TIM4RST | RCC_APB1RSTR_TIM3RST | RCC_APB1RSTR_TIM2RST;
@inline const APB2RSTR_BITS: u32 = RCC_APB2RSTR_TIM11RST | RCC_APB2RSTR_TIM10RST | RCC_APB2RSTR_TIM9RST
  | RCC_APB2RSTR_SYSCFGRST | RCC_APB2RSTR_SPI1RST | RCC_APB2RSTR_SDIORST | RCC_APB2RSTR_ADCRST
  | RCC_APB2RSTR_USART6RST | RCC_APB2RSTR_USART1RST | RCC_APB2RSTR_TIM8RST | RCC_APB2RSTR_TIM1RST;

/** The bits a clock id may name in the enable register at `offset`; 0 for any other offset. */
function enableBits(offset: u32): u32 {
  if (offset == RCC_AHB1ENR) return AHB1ENR_BITS;
  if (offset == RCC_AHB2ENR) return AHB2ENR_BITS;
  if (offset == RCC_AHB3ENR) return AHB3ENR_BITS;
  if (offset == RCC_APB1ENR) return APB1ENR_BITS;
  if (offset == RCC_APB2ENR) return APB2ENR_BITS;
  return 0;
}

/** The bits the reset register of the bus whose enable register is at `offset` has. */
function resetBits(offset: u32): u32 {
  if (offset == RCC_AHB1ENR) return AHB1RSTR_BITS;
  if (offset == RCC_AHB2ENR) return AHB2RSTR_BITS;
  if (offset == RCC_AHB3ENR) return AHB3RSTR_BITS;
  if (offset == RCC_APB1ENR) return APB1RSTR_BITS;
  if (offset == RCC_APB2ENR) return APB2RSTR_BITS;
  return 0;
}

/** Bits of a clock id that are neither the register offset nor the bit number. */
@inline const CLOCK_RESERVED: u32 = ~((0xFF << STM32_CLOCK_REGISTER_SHIFT) | STM32_CLOCK_BIT_MASK);

/** The enable register offset a clock id names (not yet checked). */
@inline function clockRegister(clock: u32): u32 {
  return clock >> STM32_CLOCK_REGISTER_SHIFT;
}

/** The single enable bit a clock id names, or 0 when the id is not a valid one. */
function clockBit(clock: u32): u32 {
  if ((clock & CLOCK_RESERVED) != 0) return 0;
  const bit: u32 = 1 << (clock & STM32_CLOCK_BIT_MASK);
  return (enableBits(clockRegister(clock)) & bit) != 0 ? bit : 0;
}

/**
 * Enables the peripheral clock `clock` (an STM32_CLOCK_* id) in the RCC at `rcc_base`, then waits
 * out the erratum delay before returning. Returns OK or ERR_INVALID_ARG (no register touched).
 */
export function stm32_rcc_enable(rcc_base: u32, clock: u32): i32 {
  if (!isValidBase(rcc_base)) return ERR_INVALID_ARG;
  const bit = clockBit(clock);
  if (bit == 0) return ERR_INVALID_ARG;
  // The enable registers are plain read/write (RM0090 §7.3.10-7.3.14), so a read-modify-write
  // keeps the other blocks' clocks. It is not atomic against another context that enables a
  // clock on the same bus at the same moment (docs/drivers/stm32f4.md).
  modify32(rcc_base + clockRegister(clock), 0, bit);
  // Erratum "Delay after an RCC peripheral clock enabling" (ES0182 §2.1.13): the block is not
  // usable for 2 AHB cycles (AHB) or 1 + AHB/APB prescaler ratio cycles (APB) after the enable
  // write. ES0182 offers a DSB, NOPs, or a dummy read of "the corresponding register"; ST's HAL
  // reads the RCC register back. A test on an STM32F40x at reset clocks found the read-back
  // (of RCC, or of the peripheral) NOT enough: the first peripheral write was lost, while a DSB
  // worked (ST community thread on the erratum; efton.sk "STM32 gotchas" 183 reports the same
  // on F407/F429). The read of modify32 above is before the write, so it is no read-back anyway.
  // DSB waits until the enable write has completed on the bus, which is the delay the erratum
  // asks for; it is the one workaround both ST and the measurement agree on.
  dsb();
  return OK;
}

/** Disables the peripheral clock `clock`. Returns OK or ERR_INVALID_ARG (no register touched). */
export function stm32_rcc_disable(rcc_base: u32, clock: u32): i32 {
  if (!isValidBase(rcc_base)) return ERR_INVALID_ARG;
  const bit = clockBit(clock);
  if (bit == 0) return ERR_INVALID_ARG;
  modify32(rcc_base + clockRegister(clock), bit, 0);
  return OK;
}

/**
 * Resets the block of `clock`: sets its bit in the bus's reset register (RM0090 §7.3.5-7.3.9),
 * then clears it. The block's registers return to their reset values; for a GPIO port this
 * also undoes a configuration lock (RM0090 §8.3.6). Returns OK, or ERR_INVALID_ARG when the id
 * is invalid or the block has no reset bit (the RAMs, the Ethernet sub-clocks, ADC2/3: use ADC1,
 * whose bit is the one ADCRST); no register is touched then.
 */
export function stm32_rcc_reset(rcc_base: u32, clock: u32): i32 {
  if (!isValidBase(rcc_base)) return ERR_INVALID_ARG;
  const bit = clockBit(clock);
  if (bit == 0 || (resetBits(clockRegister(clock)) & bit) == 0) return ERR_INVALID_ARG;
  const resetRegister = rcc_base + clockRegister(clock) - RESET_TO_ENABLE;
  // 1 holds the block in reset, 0 releases it (RM0090 §7.3.5); the reset registers are plain
  // read/write, so the other bits are written back unchanged.
  modify32(resetRegister, 0, bit);
  modify32(resetRegister, bit, 0);
  // The release, like an enable, must have reached the block before the caller programs it:
  // the same bus delay as the erratum above, waited out the same way.
  dsb();
  return OK;
}

// PLLCFGR fields: the map has them bit by bit (as the SVD does), so each field is the OR of its
// named bits, and its value is the field divided by its lowest bit (RM0090 §7.3.2).
@inline const PLLM_FIELD: u32 = RCC_PLLCFGR_PLLM5 | RCC_PLLCFGR_PLLM4 | RCC_PLLCFGR_PLLM3
  | RCC_PLLCFGR_PLLM2 | RCC_PLLCFGR_PLLM1 | RCC_PLLCFGR_PLLM0;
@inline const PLLN_FIELD: u32 = RCC_PLLCFGR_PLLN8 | RCC_PLLCFGR_PLLN7 | RCC_PLLCFGR_PLLN6 | RCC_PLLCFGR_PLLN5
  | RCC_PLLCFGR_PLLN4 | RCC_PLLCFGR_PLLN3 | RCC_PLLCFGR_PLLN2 | RCC_PLLCFGR_PLLN1 | RCC_PLLCFGR_PLLN0;
@inline const PLLP_FIELD: u32 = RCC_PLLCFGR_PLLP1 | RCC_PLLCFGR_PLLP0;
@inline const SWS_FIELD: u32 = RCC_CFGR_SWS1 | RCC_CFGR_SWS0;
// SWS codes (RM0090 §7.3.3): 00 HSI, 01 HSE, 10 PLL, 11 not allowed.
@inline const SWS_HSI: u32 = 0;
@inline const SWS_HSE: u32 = 1;
@inline const SWS_PLL: u32 = 2;
// HPRE codes (RM0090 §7.3.3): 0xxx divide by 1; 1000..1011 by 2, 4, 8, 16 (2^(code-7)); 1100..1111
// by 64, 128, 256, 512 (2^(code-6): there is no divide by 32). PPRE codes: 0xx by 1; 100..111 by
// 2, 4, 8, 16 (2^(code-3)).
@inline const HPRE_FIRST_DIVIDING: u32 = 8;
@inline const HPRE_FIRST_AFTER_GAP: u32 = 12;
@inline const PPRE_FIRST_DIVIDING: u32 = 4;

/** log2 of the AHB prescaler for HPRE code `code`. */
function ahbShift(code: u32): u32 {
  if (code < HPRE_FIRST_DIVIDING) return 0;
  return code < HPRE_FIRST_AFTER_GAP ? code - (HPRE_FIRST_DIVIDING - 1) : code - (HPRE_FIRST_DIVIDING - 2);
}

/** log2 of an APB prescaler for PPRE code `code`. */
function apbShift(code: u32): u32 {
  return code < PPRE_FIRST_DIVIDING ? 0 : code - (PPRE_FIRST_DIVIDING - 1);
}

/**
 * The frequency in Hz of bus `bus` (STM32_BUS_AHB = HCLK, STM32_BUS_APB1 = PCLK1,
 * STM32_BUS_APB2 = PCLK2) as the RCC at `rcc_base` is set now: the system clock from CFGR.SWS
 * (HSI = 16 MHz, HSE = `hse_hz`, or the PLL: source / PLLM x PLLN / PLLP), divided by the HPRE
 * prescaler and, for an APB bus, its PPRE prescaler (RM0090 §7.2, §7.3.2, §7.3.3). Reads CFGR
 * and, for the PLL, PLLCFGR; writes nothing. Returns the frequency, ERR_INVALID_ARG for an
 * unknown bus (no register read), or ERR_CLOCK_CONFIG when the registers hold a setting that gives
 * no frequency (see docs/drivers/stm32f4.md).
 */
export function stm32_rcc_bus_clock_hz(rcc_base: u32, hse_hz: u32, bus: u32): i32 {
  if (!isValidBase(rcc_base) || bus > STM32_BUS_APB2) return ERR_INVALID_ARG;
  const cfgr = read32(rcc_base + RCC_CFGR);
  const sws = (cfgr & SWS_FIELD) / RCC_CFGR_SWS0;
  let sysclk: u64;
  if (sws == SWS_HSI) {
    sysclk = STM32_HSI_HZ;
  } else if (sws == SWS_HSE) {
    if (hse_hz == 0) return ERR_CLOCK_CONFIG;
    sysclk = hse_hz;
  } else if (sws == SWS_PLL) {
    const pllcfgr = read32(rcc_base + RCC_PLLCFGR);
    // PLLSRC: 0 = HSI, 1 = HSE (RM0090 §7.3.2).
    const fromHse = (pllcfgr & RCC_PLLCFGR_PLLSRC) != 0;
    if (fromHse && hse_hz == 0) return ERR_CLOCK_CONFIG;
    const source: u64 = fromHse ? <u64>hse_hz : <u64>STM32_HSI_HZ;
    const m = (pllcfgr & PLLM_FIELD) / RCC_PLLCFGR_PLLM0;
    const n = (pllcfgr & PLLN_FIELD) / RCC_PLLCFGR_PLLN0;
    // PLLP codes 00, 01, 10, 11 divide by 2, 4, 6, 8 (RM0090 §7.3.2).
    const p = (((pllcfgr & PLLP_FIELD) / RCC_PLLCFGR_PLLP0) + 1) * 2;
    // PLLM = 0 would divide by zero, PLLN = 0 gives no clock: both are wrong configurations.
    if (m == 0 || n == 0) return ERR_CLOCK_CONFIG;
    sysclk = source * <u64>n / <u64>m / <u64>p;
  } else {
    return ERR_CLOCK_CONFIG;
  }
  let hz = sysclk >> ahbShift((cfgr & RCC_CFGR_HPRE_MASK) >> RCC_CFGR_HPRE_SHIFT);
  if (bus == STM32_BUS_APB1) hz >>= apbShift((cfgr & RCC_CFGR_PPRE1_MASK) >> RCC_CFGR_PPRE1_SHIFT);
  else if (bus == STM32_BUS_APB2) hz >>= apbShift((cfgr & RCC_CFGR_PPRE2_MASK) >> RCC_CFGR_PPRE2_SHIFT);
  if (hz > <u64>i32.MAX_VALUE) return ERR_CLOCK_CONFIG;
  return <i32>hz;
}
